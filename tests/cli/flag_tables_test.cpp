// Every command's flag table, driven through ram::cli::run as the program and the flag fuzzer
// drive it, at Reach::settings: the settings are parsed and checked, and nothing is read or
// written. Also checks that the fuzzer's seed corpus starts it on every command.
#include <gtest/gtest.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "commands.h"
#include "run.h"

namespace {

using ram::cli::Reach;

int run_settings(std::vector<std::string> args) {
  args.insert(args.begin(), "ram");
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  return ram::cli::run(static_cast<int>(argv.size()), argv.data(), Reach::settings);
}

// "train", "catch train", ...: the commands that run (a command with subcommands only routes).
void leaf_commands(const CLI::App& app, const std::string& prefix, std::vector<std::string>& out) {
  const auto subcommands = app.get_subcommands([](const CLI::App*) { return true; });
  if (subcommands.empty() && !prefix.empty()) out.push_back(prefix);
  for (const CLI::App* sub : subcommands)
    leaf_commands(*sub, prefix.empty() ? sub->get_name() : prefix + " " + sub->get_name(), out);
}

// The fuzzer's seeds: arguments separated by NUL bytes.
std::vector<std::vector<std::string>> flag_seeds() {
  std::vector<std::vector<std::string>> seeds;
  for (const auto& entry : std::filesystem::directory_iterator(RAM_FLAG_SEEDS_DIR)) {
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string bytes{std::istreambuf_iterator<char>(in), {}};
    std::vector<std::string> args(1);
    for (char c : bytes) {
      if (c == '\0')
        args.emplace_back();
      else
        args.back().push_back(c);
    }
    seeds.push_back(args);
  }
  return seeds;
}

TEST(FlagTables, TheFuzzerSeedsStartEveryCommand) {
  CLI::App app;
  ram::cli::add_commands(app, Reach::settings);
  std::vector<std::string> commands;
  leaf_commands(app, "", commands);
  EXPECT_GE(commands.size(), 11u);  // train eval info bench glimpses reproduce report tradeoff,
                                    // catch train / eval / play
  const auto seeds = flag_seeds();
  for (const std::string& command : commands) {
    bool seeded = false;
    for (const auto& seed : seeds) {
      std::string line;
      for (const std::string& a : seed) {
        line += (line.empty() ? "" : " ") + a;
        seeded = seeded || line == command;
      }
    }
    EXPECT_TRUE(seeded) << "no seed in " << RAM_FLAG_SEEDS_DIR << " runs `ram " << command
                        << "` (add one to fuzz/make_seed_corpus.py)";
  }
}

TEST(FlagTables, SettingsReachReadsAndWritesNothing) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("ram-flag-tables-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  // Each would read a missing file or create a directory if it went on.
  EXPECT_EQ(run_settings({"train", "--preset", "translated60-8g", "--out", (dir / "t").string()}),
            0);
  EXPECT_EQ(run_settings({"catch", "train", "--out", (dir / "c").string(), "--frames", "1000"}), 0);
  EXPECT_EQ(run_settings({"eval", (dir / "missing.ram").string(), "--split", "test"}), 0);
  EXPECT_EQ(run_settings({"glimpses", (dir / "missing.ram").string(), "--out", dir.string()}), 0);
  EXPECT_EQ(run_settings({"reproduce", "2a", "--rows", "ram-8g", "--out", dir.string()}), 0);
  EXPECT_EQ(run_settings({"bench", "--preset", "cluttered60-8g", "--seconds", "100"}), 0);
  EXPECT_EQ(run_settings({"catch", "play", (dir / "missing.ram").string(), "--out", "x.gif"}), 0);
  EXPECT_FALSE(std::filesystem::exists(dir));
}

TEST(FlagTables, BadSettingsAreRefusedBeforeAnyWork) {
  EXPECT_EQ(run_settings({"train", "--out", "x", "--batch", "0"}), 1);
  EXPECT_EQ(run_settings({"train", "--out", "x", "--resume", "--glimpses", "4"}), 1);
  EXPECT_EQ(run_settings({"train", "--out", "x", "--core", "gru"}), 1);
  EXPECT_EQ(run_settings({"catch", "train", "--out", "x", "--std", "0"}), 1);
  EXPECT_EQ(run_settings({"catch", "eval", "m.ram", "--episodes", "0"}), 1);
  EXPECT_EQ(run_settings({"catch", "play", "m.ram"}), 1);  // no --out
  EXPECT_EQ(run_settings({"presets", "no-such-preset"}), 1);
  EXPECT_EQ(run_settings({"glimpses", "m.ram"}), 1);  // no --out
  EXPECT_EQ(run_settings({"reproduce", "2a", "--rows", "no-such-row"}), 1);
  EXPECT_EQ(run_settings({"reproduce", "2a", "--epochs", "2", "--minutes", "1"}), 1);
  EXPECT_EQ(run_settings({"bench", "--preset", "no-such-preset"}), 1);
  EXPECT_EQ(run_settings({"tradeoff", "a.ram", "--threads", "0"}), 2);  // a CLI11 range check
  EXPECT_EQ(run_settings({"trian"}), 2);
}

}  // namespace
