// The command line as a user meets it: help, version, presets, and what a typo gets.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "ram/experiments/presets.h"
#include "ram/train/training_config.h"
#include "support/cli_support.h"
#include "support/test_support.h"

namespace {

using ram::test::CliRun;
using ram::test::contains;
using ram::test::describe;
using ram::test::expect_clean_error;
using ram::test::run_ram;
using ram::test::starts_with;
using ram::test::TempDir;

TEST(CommandLine, NoArgumentsPrintsTheHelp) {
  TempDir dir;
  const CliRun bare = run_ram("", dir.str());
  ASSERT_TRUE(bare.exited && bare.code == 0) << describe(bare);
  const CliRun help = run_ram("--help", dir.str());
  EXPECT_EQ(bare.output, help.output);
  EXPECT_TRUE(contains(help.output, "Usage: ram ")) << describe(help);  // not the build path
  EXPECT_TRUE(contains(help.output, "ram help COMMAND")) << describe(help);
}

TEST(CommandLine, HelpCommandShowsACommandsHelp) {
  TempDir dir;
  for (const std::string command : {"train", "eval", "catch train", "presets"}) {
    const CliRun help = run_ram("help " + command, dir.str());
    ASSERT_TRUE(help.exited && help.code == 0) << describe(help);
    const CliRun flag = run_ram(command + " --help", dir.str());
    EXPECT_EQ(help.output, flag.output) << command;
    EXPECT_TRUE(contains(help.output, "Usage: ram " + command)) << describe(help);
  }
  expect_clean_error(run_ram("help trian", dir.str()));
}

TEST(CommandLine, VersionNamesTheCommitAndTheBuild) {
  TempDir dir;
  const CliRun r = run_ram("--version", dir.str());
  ASSERT_TRUE(r.exited && r.code == 0) << describe(r);
  ASSERT_EQ(r.lines.size(), 3u) << describe(r);
  EXPECT_TRUE(starts_with(r.lines[0], "ram 0.")) << describe(r);
  EXPECT_TRUE(starts_with(r.lines[1], "commit: ")) << describe(r);
  EXPECT_GT(r.lines[1].size(), std::string("commit: ").size() + 6) << describe(r);
  EXPECT_TRUE(starts_with(r.lines[2], "build: ")) << describe(r);
  EXPECT_TRUE(contains(r.lines[2], "-march=")) << describe(r);
}

struct Typo {
  std::string args, expected;
};

TEST(CommandLine, AMisspeltCommandOrFlagGetsASuggestion) {
  TempDir dir;
  const std::vector<Typo> typos = {
      {"trian", "'trian' is not a ram command; did you mean train? (see ram --help)"},
      {"evl model.ram", "did you mean eval?"},
      {"catch trian",
       "'trian' is not a ram catch command; did you mean train? (see ram catch "
       "--help)"},
      {"train --epoch 3",
       "unknown flag --epoch for ram train; did you mean --epochs? (see ram "
       "train --help)"},
      {"train --reinforce 3", "did you mean --reinforce-weight or --reinforce-trains-core?"},
      {"eval model.ram --sample 3", "unknown flag --sample for ram eval; did you mean --samples?"},
      {"catch train --frame=10",
       "unknown flag --frame for ram catch train; did you mean --frames?"},
      {"train --epochs 3 x", "unexpected argument(s) for ram train: x (see ram train --help)"},
      {"frobnicate", "'frobnicate' is not a ram command (see ram --help)"},
  };
  for (const Typo& typo : typos) {
    const CliRun r = run_ram(typo.args, dir.str());
    expect_clean_error(r);
    EXPECT_EQ(r.code, 2) << describe(r);
    EXPECT_TRUE(contains(r.output, typo.expected)) << "expected: " << typo.expected << "\n"
                                                   << describe(r);
  }
}

TEST(CommandLine, ABadValueNamesTheCommandsHelp) {
  TempDir dir;
  const CliRun r = run_ram("train --epochs abc", dir.str());
  expect_clean_error(r);
  EXPECT_TRUE(contains(r.output, "abc")) << describe(r);
  EXPECT_TRUE(contains(r.output, "(see ram train --help)")) << describe(r);
}

TEST(CommandLine, PresetsListsEveryPresetAndShowsOneInFull) {
  TempDir dir;
  const CliRun table = run_ram("presets", dir.str());
  ASSERT_TRUE(table.exited && table.code == 0) << describe(table);
  for (const ram::Preset& preset : ram::presets()) {
    bool listed = false;
    for (const std::string& line : table.lines)
      listed = listed || starts_with(line, preset.name + " ");
    EXPECT_TRUE(listed) << preset.name << "\n" << describe(table);
  }
  const CliRun one = run_ram("presets cluttered60-8g", dir.str());
  ASSERT_TRUE(one.exited && one.code == 0) << describe(one);
  const std::size_t json_start = one.output.find('{');
  ASSERT_NE(json_start, std::string::npos) << describe(one);
  EXPECT_EQ(nlohmann::json::parse(one.output.substr(json_start)),
            ram::to_json(ram::find_preset("cluttered60-8g").config));
  // The same configuration `ram train --preset P --dry-run` would train.
  const CliRun dry = run_ram("train --preset cluttered60-8g --dry-run", dir.str());
  EXPECT_EQ(nlohmann::json::parse(dry.output),
            nlohmann::json::parse(one.output.substr(json_start)));

  const CliRun unknown = run_ram("presets cluttered60", dir.str());
  expect_clean_error(unknown);
  EXPECT_TRUE(contains(unknown.output, "cluttered60-8g")) << describe(unknown);
}

// Each flag's value is shown in the help: the default preset's, or that of the preset given.
TEST(CommandLine, TrainHelpShowsThePresetsValues) {
  TempDir dir;
  const CliRun plain = run_ram("train --help", dir.str());
  ASSERT_EQ(plain.code, 0) << plain.output;
  EXPECT_TRUE(contains(plain.output, "--canvas INT=60 ")) << plain.output;
  EXPECT_TRUE(contains(plain.output, "--epochs INT=210 ")) << plain.output;
  EXPECT_TRUE(contains(plain.output, "the default preset, translated60-8g")) << plain.output;
  for (const char* args :
       {"train --preset cluttered100-8g --help", "train --help --preset cluttered100-8g"}) {
    const CliRun chosen = run_ram(args, dir.str());
    ASSERT_EQ(chosen.code, 0) << args << "\n" << chosen.output;
    EXPECT_TRUE(contains(chosen.output, "--canvas INT=100 ")) << args << "\n" << chosen.output;
    EXPECT_TRUE(contains(chosen.output, "--epochs INT=200 ")) << args << "\n" << chosen.output;
    EXPECT_TRUE(contains(chosen.output, "are those of cluttered100-8g")) << chosen.output;
  }
}

TEST(CommandLine, OldFlagNamesStillWork) {
  TempDir dir;
  const CliRun old_name = run_ram("train --eval-samples 3 --dry-run", dir.str());
  ASSERT_TRUE(old_name.exited && old_name.code == 0) << describe(old_name);
  EXPECT_EQ(nlohmann::json::parse(old_name.output).at("eval_samples"), 3);
  // ...but --help lists only the current ones.
  const CliRun help = run_ram("train --help", dir.str());
  EXPECT_FALSE(contains(help.output, "--eval-samples")) << describe(help);
  EXPECT_TRUE(contains(help.output, "--samples")) << describe(help);
  const CliRun eval_help = run_ram("eval --help", dir.str());
  EXPECT_FALSE(contains(eval_help.output, "--mean-location")) << describe(eval_help);
  const CliRun catch_help = run_ram("catch train --help", dir.str());
  EXPECT_FALSE(contains(catch_help.output, "--location-trains-core")) << describe(catch_help);
  EXPECT_TRUE(contains(catch_help.output, "--reinforce-trains-core")) << describe(catch_help);
}

}  // namespace
