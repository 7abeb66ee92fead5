#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "ram/run/checkpoint.h"
#include "ram/train/train.h"
#include "ram/util/error.h"
#include "support/test_support.h"
#include "support/training_support.h"

namespace fs = std::filesystem;

namespace {

using namespace ram::test;  // the trainer tests' fixtures (support/training_support.h)

}  // namespace

TEST(Train, ResumeAfterInterruptionIsBitIdentical) {
  TempDir dir;
  const std::string a = dir.sub("a"), b = dir.sub("b");
  const ram::TrainValidation data = tiny_data();
  ram::TrainingConfig config = tiny_monte_carlo_config();
  config.epochs = 3;

  const ram::TrainResult full = ram::train(config, data, a, ram::RunStart::fresh);
  ASSERT_EQ(full.epochs.size(), 3u);

  ram::TrainCallbacks stop_after_2;
  stop_after_2.epoch_done = [](const ram::EpochMetrics& m) {
    if (m.epoch == 2) throw Interrupted{};
  };
  EXPECT_THROW(ram::train(config, data, b, ram::RunStart::fresh, stop_after_2), Interrupted);
  ASSERT_TRUE(fs::exists(file_in(b, ram::kCheckpointFile)));
  EXPECT_FALSE(fs::exists(file_in(b, ram::kModelFile)));
  EXPECT_EQ(ram::load_model(file_in(b, ram::kCheckpointFile)).epoch, 2u);
  EXPECT_EQ(read_lines(file_in(b, ram::kMetricsFile)).size(), 3u);

  int resumed_epochs = 0;
  ram::TrainCallbacks count;
  count.epoch_done = [&](const ram::EpochMetrics& m) {
    ++resumed_epochs;
    EXPECT_EQ(m.epoch, 3);
  };
  const ram::TrainResult resumed = ram::train(config, data, b, ram::RunStart::resume, count);
  EXPECT_EQ(resumed_epochs, 1);
  EXPECT_TRUE(same_bits(full.parameters, resumed.parameters));
  expect_same_metrics(full.epochs, resumed.epochs);

  const ram::SavedModel model_a = ram::load_model(file_in(a, ram::kModelFile));
  const ram::SavedModel model_b = ram::load_model(file_in(b, ram::kModelFile));
  EXPECT_TRUE(same_bits(model_a.parameters, model_b.parameters));
  EXPECT_EQ(model_a.epoch, model_b.epoch);
  EXPECT_EQ(model_a.step, model_b.step);

  const std::vector<std::string> lines_a = read_lines(file_in(a, ram::kMetricsFile));
  const std::vector<std::string> lines_b = read_lines(file_in(b, ram::kMetricsFile));
  ASSERT_EQ(lines_a.size(), 4u);
  ASSERT_EQ(lines_b.size(), 4u);
  EXPECT_EQ(lines_a[0], kMetricsHeader);
  EXPECT_EQ(lines_b[0], kMetricsHeader);
  for (std::size_t i = 1; i < 4; ++i) {
    std::vector<std::string> fa = split_csv(lines_a[i]), fb = split_csv(lines_b[i]);
    ASSERT_EQ(fa.size(), 18u);
    ASSERT_EQ(fb.size(), 18u);
    fa.erase(fa.begin() + 9, fa.begin() + 11);  // drop seconds and images_per_second
    fb.erase(fb.begin() + 9, fb.begin() + 11);
    EXPECT_EQ(fa, fb) << "metrics row " << i;
  }
}

// A stop request (Ctrl-C in the CLI) mid-epoch checkpoints the exact position, including the
// epoch's running loss sums; resuming from it must end where an uninterrupted run ends, with the
// same metrics, whichever batch the stop came after (first, middle and last of an epoch).
TEST(Train, StopRequestMidEpochResumesBitIdentically) {
  TempDir dir;
  const ram::TrainValidation data = tiny_data();
  ram::TrainingConfig config = tiny_monte_carlo_config();
  config.epochs = 3;
  const ram::TrainResult full = ram::train(config, data, dir.sub("full"), ram::RunStart::fresh);
  const std::uint64_t batches = data.train.size() / config.batch_size;
  ASSERT_GE(batches, 3u);

  for (const std::uint64_t stop_after : {batches + 1, batches + batches / 2, 2 * batches}) {
    const std::string out = dir.sub("stopped-" + std::to_string(stop_after));
    std::uint64_t steps = 0;
    ram::TrainCallbacks stop;
    stop.batch_done = [&](const ram::Progress&) { ++steps; };
    stop.stop_requested = [&] { return steps == stop_after; };
    const ram::TrainResult first = ram::train(config, data, out, ram::RunStart::fresh, stop);
    EXPECT_TRUE(first.interrupted);
    EXPECT_FALSE(fs::exists(file_in(out, ram::kModelFile)));
    const ram::SavedModel checkpoint = ram::load_model(file_in(out, ram::kCheckpointFile));
    EXPECT_EQ(checkpoint.step, stop_after);
    EXPECT_TRUE(same_bits(checkpoint.parameters, first.parameters));

    const ram::TrainResult resumed = ram::train(config, data, out, ram::RunStart::resume);
    EXPECT_FALSE(resumed.interrupted);
    EXPECT_TRUE(same_bits(full.parameters, resumed.parameters)) << "stopped after " << stop_after;
    expect_same_metrics(full.epochs, resumed.epochs);
  }
}

// After a resume mid-epoch, images/s counts only the images this process trained on: each batch
// here takes at least 20 ms (a sleeping callback), so the rate cannot exceed batch / 20 ms, which
// the restored images of the other 19 batches, divided by one batch's time, used to.
TEST(Train, ImagesPerSecondAfterAResumeCountsOnlyThisProcesssImages) {
  TempDir dir;
  const ram::TrainValidation data = tiny_data();
  ram::TrainingConfig config = tiny_training_config();
  config.epochs = 1;
  const std::uint64_t batches = data.train.size() / config.batch_size;
  std::uint64_t steps = 0;
  ram::TrainCallbacks stop;
  stop.batch_done = [&](const ram::Progress&) { ++steps; };
  stop.stop_requested = [&] { return steps == batches - 1; };
  ASSERT_TRUE(ram::train(config, data, dir.str(), ram::RunStart::fresh, stop).interrupted);

  ram::TrainCallbacks slow;
  std::vector<double> progress_rates;
  slow.batch_done = [&](const ram::Progress& p) {
    progress_rates.push_back(p.images_per_second);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  };
  const ram::TrainResult resumed = ram::train(config, data, dir.str(), ram::RunStart::resume, slow);
  const double bound = config.batch_size / 0.020;
  ASSERT_EQ(resumed.epochs.size(), 1u);
  EXPECT_GT(resumed.epochs[0].images_per_second, 0);
  EXPECT_LE(resumed.epochs[0].images_per_second, bound);
  ASSERT_EQ(progress_rates.size(), 1u);
  EXPECT_GT(progress_rates[0], 0);
}

TEST(Train, ResumeRejectsAPositionThatDoesNotFitTheData) {
  TempDir dir;
  const ram::TrainValidation data = tiny_data();
  ram::TrainingConfig config = tiny_monte_carlo_config();
  config.epochs = 2;
  ram::train(config, data, dir.str(), ram::RunStart::fresh);
  ram::TrainValidation smaller = data;
  smaller.train.labels.resize(data.train.size() / 2);
  smaller.train.pixels.resize(smaller.train.labels.size() * smaller.train.image_size());
  // Two completed epochs of the full set are far more steps than two epochs of half of it.
  ram::Checkpoint c = ram::load_checkpoint(file_in(dir.str(), ram::kCheckpointFile));
  c.epoch = 1;
  ram::save_checkpoint(file_in(dir.str(), ram::kCheckpointFile), c);
  expect_error([&] { ram::train(config, smaller, dir.str(), ram::RunStart::resume); },
               {ram::kCheckpointFile, "does not fit"});
}

TEST(Train, ResumeOfAFinishedRunTrainsNothingAndKeepsItsResult) {
  TempDir dir;
  const ram::TrainValidation data = tiny_data();
  const ram::TrainingConfig config = tiny_training_config();
  const ram::TrainResult full = ram::train(config, data, dir.str(), ram::RunStart::fresh);
  int epochs_run = 0;
  ram::TrainCallbacks count;
  count.epoch_done = [&](const ram::EpochMetrics&) { ++epochs_run; };
  const ram::TrainResult again = ram::train(config, data, dir.str(), ram::RunStart::resume, count);
  EXPECT_EQ(epochs_run, 0);
  EXPECT_TRUE(same_bits(full.parameters, again.parameters));
  expect_same_metrics(full.epochs, again.epochs);
  const ram::SavedModel model = ram::load_model(file_in(dir.str(), ram::kModelFile));
  EXPECT_TRUE(same_bits(model.parameters, full.parameters));
}

// A resumed run continues with the settings it started with: a configuration that differs in
// anything but threads, checkpoint interval and epochs is refused, not silently replaced.
TEST(Train, ResumeRefusesSettingsThatDifferFromTheCheckpoint) {
  TempDir dir;
  const ram::TrainValidation data = tiny_data();
  const ram::TrainingConfig config = tiny_training_config();
  ram::train(config, data, dir.str(), ram::RunStart::fresh);
  ram::TrainingConfig seed = config;
  seed.seed = 999;
  expect_error([&] { ram::train(seed, data, dir.str(), ram::RunStart::resume); },
               {file_in(dir.str(), ram::kCheckpointFile), "/seed", "from 5 to 999"});
  ram::TrainingConfig lr = config;
  lr.optimizer.learning_rate = 0.5;
  expect_error([&] { ram::train(lr, data, dir.str(), ram::RunStart::resume); },
               {"/optimizer/learning_rate"});
  ram::TrainingConfig fewer = config;
  fewer.epochs = 1;
  expect_error([&] { ram::train(fewer, data, dir.str(), ram::RunStart::resume); },
               {"has completed 2 epochs", "cannot end after 1"});
}

// The checkpoint's own settings win unless one is given: before, a resumed run took the
// caller's thread count (the CLI's default 2 for a --threads 1 run) and so left the sums of an
// uninterrupted run.
TEST(Train, ResumedConfigKeepsTheRunsOwnSettingsUnlessGiven) {
  TempDir dir;
  ram::TrainingConfig config = tiny_training_config();
  config.threads = 1;
  config.checkpoint_every = 5;
  ram::train(config, tiny_data(), dir.str(), ram::RunStart::fresh);
  const ram::SavedModel saved = ram::load_model(file_in(dir.str(), ram::kCheckpointFile));
  const ram::TrainingConfig kept = ram::resumed_config(saved, {});
  EXPECT_EQ(ram::to_json(kept), ram::to_json(saved.config));
  EXPECT_EQ(kept.threads, 1);
  EXPECT_EQ(kept.checkpoint_every, 5u);
  ram::ResumeSettings settings;
  settings.threads = 3;
  settings.checkpoint_every = 0;
  settings.epochs = 4;
  const ram::TrainingConfig changed = ram::resumed_config(saved, settings);
  EXPECT_EQ(changed.threads, 3);
  EXPECT_EQ(changed.checkpoint_every, 0u);
  EXPECT_EQ(changed.epochs, 4);
  settings.epochs = 1;
  expect_error([&] { ram::resumed_config(saved, settings); },
               {"has completed 2 epochs", "cannot end after 1"});
}

TEST(Train, ResumeWithMoreEpochsExtendsAFinishedRun) {
  TempDir dir;
  const ram::TrainValidation data = tiny_data();
  ram::TrainingConfig config = tiny_training_config();
  config.epochs = 1;
  const ram::TrainResult first = ram::train(config, data, dir.str(), ram::RunStart::fresh);
  ram::ResumeSettings more;
  more.epochs = 2;
  const ram::TrainingConfig extended =
      ram::resumed_config(ram::load_model(file_in(dir.str(), ram::kCheckpointFile)), more);
  int epochs_run = 0;
  ram::TrainCallbacks count;
  count.epoch_done = [&](const ram::EpochMetrics&) { ++epochs_run; };
  const ram::TrainResult second =
      ram::train(extended, data, dir.str(), ram::RunStart::resume, count);
  EXPECT_EQ(epochs_run, 1);
  ASSERT_EQ(second.epochs.size(), 2u);
  expect_same_metrics(first.epochs, {second.epochs[0]});
  EXPECT_FALSE(same_bits(first.parameters, second.parameters));
  const ram::SavedModel model = ram::load_model(file_in(dir.str(), ram::kModelFile));
  EXPECT_EQ(model.epoch, 2u);
  EXPECT_EQ(model.config.epochs, 2);
  EXPECT_EQ(ram::read_metrics(file_in(dir.str(), ram::kMetricsFile)).size(), 2u);
}

// --overwrite replaces the old run only once training starts: a run that fails before (here on
// empty data, as on a bad data path) leaves the old run's files as they were.
TEST(Train, OverwriteKeepsTheOldRunUntilTrainingStarts) {
  TempDir dir;
  const ram::TrainingConfig config = tiny_training_config();
  ram::train(config, tiny_data(), dir.str(), ram::RunStart::fresh);
  const auto model_bytes = read_text(file_in(dir.str(), ram::kModelFile));
  const auto checkpoint_bytes = read_text(file_in(dir.str(), ram::kCheckpointFile));
  { const ram::RunDirectory opened(dir.str(), ram::RunStart::overwrite); }
  EXPECT_THROW(ram::train(config, ram::TrainValidation{}, dir.str(), ram::RunStart::overwrite),
               ram::Error);
  EXPECT_EQ(read_text(file_in(dir.str(), ram::kModelFile)), model_bytes);
  EXPECT_EQ(read_text(file_in(dir.str(), ram::kCheckpointFile)), checkpoint_bytes);
}

// The model file is the parameters and their history; the optimiser's moments, which only a
// resumed run needs, stay in the checkpoint.
TEST(Train, TheModelFileLeavesTheOptimiserStateToTheCheckpoint) {
  TempDir dir;
  const ram::TrainResult result =
      ram::train(tiny_training_config(), tiny_data(), dir.str(), ram::RunStart::fresh);
  const ram::Checkpoint model = ram::load_checkpoint(file_in(dir.str(), ram::kModelFile));
  const ram::Checkpoint checkpoint = ram::load_checkpoint(file_in(dir.str(), ram::kCheckpointFile));
  EXPECT_TRUE(model.optimizer_state.empty());
  EXPECT_EQ(checkpoint.optimizer_state.size(), 2 * checkpoint.parameters.size());  // Adam's m, v
  EXPECT_TRUE(same_bits(model.parameters, result.parameters));
  EXPECT_EQ(model.epoch, checkpoint.epoch);
}

TEST(Train, AnOutputPathThatIsAFileIsRefusedBeforeTraining) {
  TempDir dir;
  const std::string file = dir.sub("a-file");
  std::ofstream(file) << "the user's";
  int epochs_run = 0;
  ram::TrainCallbacks count;
  count.epoch_done = [&](const ram::EpochMetrics&) { ++epochs_run; };
  for (ram::RunStart start :
       {ram::RunStart::fresh, ram::RunStart::overwrite, ram::RunStart::resume}) {
    expect_error([&] { ram::check_run_directory(file, start); }, {file, "not a directory"});
    expect_error([&] { ram::train(tiny_training_config(), tiny_data(), file, start, count); },
                 {file, "not a directory"});
  }
  EXPECT_EQ(epochs_run, 0);
  EXPECT_EQ(read_text(file), "the user's");
}

// (A missing checkpoint or directory: tests/train/run_directory_of_each_trainer_test.cpp.)
TEST(Train, ResumeWithoutADirectoryThrows) {
  EXPECT_THROW(ram::train(tiny_training_config(), tiny_data(), "", ram::RunStart::resume),
               ram::Error);
}
