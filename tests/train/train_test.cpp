#include "ram/train/train.h"

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
#include "ram/util/error.h"
#include "support/test_support.h"
#include "support/training_support.h"

namespace fs = std::filesystem;

namespace {

using namespace ram::test;  // the trainer tests' fixtures (support/training_support.h)

}  // namespace

TEST(Train, SameSeedSameThreadsIsBitIdentical) {
  const ram::TrainValidation data = tiny_data();
  for (int threads : {2, 1}) {
    SCOPED_TRACE("threads " + std::to_string(threads));
    ram::TrainingConfig config = tiny_monte_carlo_config();
    config.threads = threads;
    const ram::TrainResult a = ram::train(config, data, "", ram::RunStart::fresh);
    const ram::TrainResult b = ram::train(config, data, "", ram::RunStart::fresh);
    ASSERT_EQ(a.parameters.size(), ram::RamModel<float>(config.model).parameter_count());
    EXPECT_TRUE(same_bits(a.parameters, b.parameters));
    ASSERT_EQ(a.epochs.size(), 2u);
    expect_same_metrics(a.epochs, b.epochs);
    for (float p : a.parameters) ASSERT_TRUE(std::isfinite(p));
  }
}

TEST(Train, AdaptiveStoppingSameSeedSameThreadsIsBitIdentical) {
  const ram::TrainValidation data = tiny_data();
  for (int threads : {2, 1}) {
    SCOPED_TRACE("threads " + std::to_string(threads));
    ram::TrainingConfig config = tiny_stopping_config();
    config.threads = threads;
    const ram::TrainResult a = ram::train(config, data, "", ram::RunStart::fresh);
    const ram::TrainResult b = ram::train(config, data, "", ram::RunStart::fresh);
    EXPECT_TRUE(same_bits(a.parameters, b.parameters));
    expect_same_metrics(a.epochs, b.epochs);
    for (const ram::EpochMetrics& m : a.epochs) {
      EXPECT_GE(m.train_glimpses, 1.0);
      EXPECT_LT(m.train_glimpses, 3.0);  // the stop policy starts at q = 1/2: some stop early
      EXPECT_GE(m.validation_glimpses, 1.0);
      EXPECT_LT(m.validation_glimpses, 3.0);
    }
  }
}

TEST(Train, AdaptiveStoppingCheckpointRoundTrip) {
  TempDir dir("ram_train_stopping");
  const ram::TrainingConfig config = tiny_stopping_config();
  const ram::TrainResult r = ram::train(config, tiny_data(), dir.str(), ram::RunStart::fresh);
  const ram::SavedModel saved = ram::load_model(file_in(dir.str(), ram::kModelFile));
  EXPECT_EQ(ram::to_json(saved.config), ram::to_json(config));
  EXPECT_TRUE(saved.config.model.adaptive_stopping);
  EXPECT_TRUE(same_bits(saved.parameters, r.parameters));
}

TEST(Train, DifferentSeedGivesDifferentParameters) {
  const ram::TrainValidation data = tiny_data();
  ram::TrainingConfig config = tiny_monte_carlo_config();
  config.epochs = 1;
  const ram::TrainResult a = ram::train(config, data, "", ram::RunStart::fresh);
  config.seed = 6;
  const ram::TrainResult b = ram::train(config, data, "", ram::RunStart::fresh);
  ASSERT_EQ(a.parameters.size(), b.parameters.size());
  EXPECT_FALSE(same_bits(a.parameters, b.parameters));
}

// Annealing from the model's own std is no annealing: the run is bit for bit the fixed-std one.
// From another std it trains otherwise, and ends on the model's std, which the saved
// configuration keeps for evaluation.
TEST(Train, AnnealedStdTrainsOtherwiseUnlessItStartsWhereItEnds) {
  const ram::TrainValidation data = tiny_data();
  ram::TrainingConfig config = tiny_training_config();
  config.epochs = 1;
  const ram::TrainResult fixed = ram::train(config, data, "", ram::RunStart::fresh);
  config.initial_std = config.model.location_std;
  const ram::TrainResult same = ram::train(config, data, "", ram::RunStart::fresh);
  EXPECT_TRUE(same_bits(fixed.parameters, same.parameters));
  expect_same_metrics(fixed.epochs, same.epochs);
  config.initial_std = 3 * config.model.location_std;
  TempDir dir("ram_train_annealed_std");
  const ram::TrainResult annealed = ram::train(config, data, dir.str(), ram::RunStart::fresh);
  EXPECT_FALSE(same_bits(fixed.parameters, annealed.parameters));
  const ram::SavedModel saved = ram::load_model(file_in(dir.str(), ram::kModelFile));
  EXPECT_EQ(saved.config.initial_std, config.initial_std);
  EXPECT_EQ(saved.config.model.location_std, config.model.location_std);
}

TEST(Train, TrainingChangesTheInitialParameters) {
  const ram::TrainValidation data = tiny_data();
  ram::TrainingConfig config = tiny_training_config();
  config.epochs = 1;
  const ram::RamModel<float> model(config.model);
  std::vector<float> initial(model.parameter_count());
  model.initialize(initial, config.seed, config.init_range);
  const ram::TrainResult r = ram::train(config, data, "", ram::RunStart::fresh);
  EXPECT_FALSE(same_bits(initial, r.parameters));
  ASSERT_EQ(r.epochs.size(), 1u);
  EXPECT_EQ(r.epochs[0].epoch, 1);
  EXPECT_EQ(r.epochs[0].steps, 20u);  // 200 images / batch 10
  EXPECT_TRUE(std::isfinite(r.epochs[0].loss));
  EXPECT_GE(r.epochs[0].train_error, 0.0);
  EXPECT_LE(r.epochs[0].train_error, 1.0);
  EXPECT_GE(r.epochs[0].validation_error, 0.0);
  EXPECT_LE(r.epochs[0].validation_error, 1.0);
}

TEST(Train, TrainingSetSmallerThanABatch) {
  ram::TrainValidation data{random_digits(7, 1), random_digits(5, 2)};
  ram::TrainingConfig config = tiny_training_config();
  const ram::TrainResult r = ram::train(config, data, "", ram::RunStart::fresh);
  ASSERT_EQ(r.epochs.size(), 2u);
  EXPECT_EQ(r.epochs[1].steps, 2u);
}

TEST(Train, EmptyDataThrows) {
  ram::TrainValidation data{random_digits(20, 1), random_digits(0, 2)};
  data.validation.rows = data.validation.cols = 28;
  EXPECT_THROW(ram::train(tiny_training_config(), data, "", ram::RunStart::fresh), ram::Error);
  std::swap(data.train, data.validation);
  EXPECT_THROW(ram::train(tiny_training_config(), data, "", ram::RunStart::fresh), ram::Error);
}

// ---------------------------------------------------------------------------------------------
// Outputs and resumption

TEST(Train, WritesModelCheckpointAndMetrics) {
  TempDir dir;
  const std::string out = dir.sub("run");  // created by train()
  const ram::TrainValidation data = tiny_data();
  const ram::TrainingConfig config = tiny_training_config();
  int epochs_seen = 0;
  std::uint64_t batches_seen = 0;
  ram::TrainCallbacks callbacks;
  callbacks.batch_done = [&](const ram::Progress& p) {
    ++batches_seen;
    EXPECT_EQ(p.epochs, 2);
    EXPECT_EQ(p.batches, 20u);
    EXPECT_GE(p.batch, 1u);
    EXPECT_LE(p.batch, p.batches);
  };
  callbacks.epoch_done = [&](const ram::EpochMetrics& m) {
    ++epochs_seen;
    EXPECT_EQ(m.epoch, epochs_seen);
    // The checkpoint and metrics of this epoch are already on disk.
    EXPECT_EQ(ram::load_model(file_in(out, ram::kCheckpointFile)).epoch,
              static_cast<std::uint64_t>(m.epoch));
    EXPECT_EQ(read_lines(file_in(out, ram::kMetricsFile)).size(),
              static_cast<std::size_t>(m.epoch) + 1);
  };
  const ram::TrainResult r = ram::train(config, data, out, ram::RunStart::fresh, callbacks);
  EXPECT_EQ(epochs_seen, 2);
  EXPECT_EQ(batches_seen, 40u);

  ASSERT_TRUE(fs::exists(file_in(out, ram::kModelFile)));
  ASSERT_TRUE(fs::exists(file_in(out, ram::kCheckpointFile)));
  ASSERT_TRUE(fs::exists(file_in(out, ram::kMetricsFile)));
  for (const auto& entry : fs::directory_iterator(out))
    EXPECT_EQ(entry.path().string().find(".tmp"), std::string::npos) << entry.path();

  const std::vector<std::string> lines = read_lines(file_in(out, ram::kMetricsFile));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], kMetricsHeader);
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const std::vector<std::string> f = split_csv(lines[i]);
    ASSERT_EQ(f.size(), 18u) << lines[i];
    EXPECT_EQ(f[0], std::to_string(i));
    EXPECT_EQ(f[1], std::to_string(20 * i));
    // A fixed-length model takes all its glimpses.
    EXPECT_EQ(f[12], std::to_string(config.model.glimpses));
    EXPECT_EQ(f[13], std::to_string(config.model.glimpses));
  }
  // What drives REINFORCE: a ReLU core's output is not all zero, its mean is below its max, R is
  // 0 or 1 and the baseline starts near 0, so |R - b| comes near 1; the share is a share.
  for (const ram::EpochMetrics& m : r.epochs) {
    EXPECT_GT(m.state_l1_mean, 0.0);
    EXPECT_GE(m.state_l1_max, m.state_l1_mean);
    EXPECT_GT(m.advantage_max, 0.5);
    EXPECT_GE(m.saturated_means, 0.0);
    EXPECT_LE(m.saturated_means, 1.0);
  }

  const ram::SavedModel model = ram::load_model(file_in(out, ram::kModelFile));
  expect_same_config(config, model.config);
  EXPECT_EQ(ram::to_json(config), ram::to_json(model.config));
  EXPECT_TRUE(same_bits(model.parameters, r.parameters));
  EXPECT_EQ(model.epoch, 2u);
  EXPECT_EQ(model.step, r.epochs.back().steps);

  const ram::SavedModel checkpoint = ram::load_model(file_in(out, ram::kCheckpointFile));
  EXPECT_TRUE(same_bits(checkpoint.parameters, r.parameters));
  EXPECT_EQ(checkpoint.epoch, 2u);
}

TEST(Train, NonFiniteLossThrowsAndKeepsTheLastCheckpoint) {
  TempDir dir;
  const ram::TrainValidation data = tiny_data();

  // A fresh run that blows up in its first epoch.
  {
    ram::TrainingConfig config = tiny_training_config();
    config.optimizer.learning_rate = 1e30;
    config.init_range = 10;
    const std::string out = dir.sub("fresh");
    const std::string message =
        error_of([&] { ram::train(config, data, out, ram::RunStart::fresh); });
    EXPECT_NE(message.find("not finite"), std::string::npos) << message;
    EXPECT_NE(message.find("training stopped"), std::string::npos) << message;
    if (fs::exists(file_in(out, ram::kCheckpointFile))) {
      EXPECT_NO_THROW(ram::load_model(file_in(out, ram::kCheckpointFile)));
    }
    EXPECT_FALSE(fs::exists(file_in(out, ram::kModelFile)));
  }

  // One good epoch, then the checkpoint's learning rate is made absurd and training resumed.
  const std::string out = dir.sub("resumed");
  ram::TrainingConfig config = tiny_training_config();
  config.epochs = 1;
  const ram::TrainResult good = ram::train(config, data, out, ram::RunStart::fresh);
  const std::string checkpoint_path = file_in(out, ram::kCheckpointFile);
  ram::Checkpoint c = ram::load_checkpoint(checkpoint_path);
  nlohmann::json j = nlohmann::json::parse(c.config_json);
  j["epochs"] = 3;
  j["optimizer"]["learning_rate"] = 1e30;
  c.config_json = j.dump();
  ram::save_checkpoint(checkpoint_path, c);
  fs::remove(file_in(out, ram::kModelFile));

  const ram::TrainingConfig resumed = ram::resumed_config(ram::load_model(checkpoint_path), {});
  const std::string message =
      error_of([&] { ram::train(resumed, data, out, ram::RunStart::resume); });
  EXPECT_NE(message.find("not finite"), std::string::npos) << message;
  EXPECT_NE(message.find("training stopped"), std::string::npos) << message;
  EXPECT_NE(message.find(checkpoint_path), std::string::npos) << message;
  const ram::SavedModel kept = ram::load_model(checkpoint_path);
  EXPECT_EQ(kept.epoch, 1u);
  EXPECT_TRUE(same_bits(kept.parameters, good.parameters));
  EXPECT_EQ(read_lines(file_in(out, ram::kMetricsFile)).size(), 2u);
  EXPECT_FALSE(fs::exists(file_in(out, ram::kModelFile)));
}

// The loss and gradient of the only step are finite, but the update overflows the parameters:
// training must still stop with an error rather than return (or try to save) infinities.
TEST(Train, OverflowingUpdateOnTheLastStepThrows) {
  TempDir dir;
  ram::TrainValidation data{random_digits(10, 1), random_digits(5, 2)};
  ram::TrainingConfig config = tiny_training_config();
  config.epochs = 1;  // one epoch of one batch: a single optimiser step
  config.optimizer.learning_rate = 3e38;
  config.init_range = 1;
  for (const std::string& out : {std::string(), dir.sub("run")}) {
    SCOPED_TRACE("out_dir '" + out + "'");
    const std::string message =
        error_of([&] { ram::train(config, data, out, ram::RunStart::fresh); });
    EXPECT_NE(message.find("not finite"), std::string::npos) << message;
    EXPECT_NE(message.find("training stopped"), std::string::npos) << message;
  }
  EXPECT_FALSE(fs::exists(file_in(dir.sub("run"), ram::kCheckpointFile)));
  EXPECT_FALSE(fs::exists(file_in(dir.sub("run"), ram::kModelFile)));
}

namespace {

// ---------------------------------------------------------------------------------------------
// Skipping non-finite batches, checkpoint interval

// Rendering clips pixels at 1 from above (NaN too: std::min(1, NaN) is 1), so an infinitely dark
// digit is what reaches the model: every batch that holds one has a non-finite loss or gradient.
constexpr float kInfinitelyDark = -std::numeric_limits<float>::infinity();

// tiny_data() with one training image made kInfinitelyDark.
ram::TrainValidation data_with_a_nan_image() {
  ram::TrainValidation data = tiny_data();
  const std::size_t size = data.train.image_size();
  std::fill_n(data.train.pixels.begin() + 5 * size, size, kInfinitelyDark);
  return data;
}

}  // namespace

TEST(Train, SkipNonFiniteBatchesCountsThemAndKeepsParametersFinite) {
  TempDir dir;
  const ram::TrainValidation data = data_with_a_nan_image();
  ram::TrainingConfig config = tiny_training_config();
  config.epochs = 3;

  const std::string stopped =
      error_of([&] { ram::train(config, data, dir.sub("stop"), ram::RunStart::fresh); });
  EXPECT_NE(stopped.find("the loss is not finite"), std::string::npos) << stopped;

  config.skip_nonfinite_batches = true;
  const ram::TrainResult result = ram::train(config, data, dir.sub("skip"), ram::RunStart::fresh);
  ASSERT_EQ(result.epochs.size(), 3u);
  for (const ram::EpochMetrics& m : result.epochs) {
    EXPECT_EQ(m.skipped_batches, 1u) << "epoch " << m.epoch;  // the NaN image is in one batch
    EXPECT_TRUE(std::isfinite(m.loss));
  }
  const std::uint64_t batches = data.train.size() / config.batch_size;
  EXPECT_EQ(result.epochs.back().steps, 3 * batches);  // skipped batches keep their place
  for (float p : result.parameters) ASSERT_TRUE(std::isfinite(p));
  const auto lines = read_lines(file_in(dir.sub("skip"), ram::kMetricsFile));
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(split_csv(lines[1])[11], "1");  // the skipped_batches column
  // The count survives a checkpoint: a resumed run reports the same metrics.
  const ram::TrainResult again = ram::train(config, data, dir.sub("skip"), ram::RunStart::resume);
  EXPECT_EQ(again.epochs.back().skipped_batches, 1u);
}

TEST(Train, SkippedBatchCountSurvivesAMidEpochResume) {
  TempDir dir;
  const ram::TrainValidation data = data_with_a_nan_image();
  ram::TrainingConfig config = tiny_training_config();
  config.skip_nonfinite_batches = true;
  const ram::TrainResult full = ram::train(config, data, dir.sub("full"), ram::RunStart::fresh);
  const std::uint64_t batches = data.train.size() / config.batch_size;
  for (std::uint64_t stop_after = 1; stop_after < 2 * batches; stop_after += 3) {
    const std::string out = dir.sub("part-" + std::to_string(stop_after));
    std::uint64_t steps = 0;
    ram::TrainCallbacks stop;
    stop.batch_done = [&](const ram::Progress&) { ++steps; };
    stop.stop_requested = [&] { return steps == stop_after; };
    ASSERT_TRUE(ram::train(config, data, out, ram::RunStart::fresh, stop).interrupted);
    const ram::TrainResult resumed = ram::train(config, data, out, ram::RunStart::resume);
    EXPECT_TRUE(same_bits(full.parameters, resumed.parameters)) << stop_after;
    ASSERT_EQ(resumed.epochs.size(), full.epochs.size());
    for (std::size_t e = 0; e < full.epochs.size(); ++e)
      EXPECT_EQ(resumed.epochs[e].skipped_batches, full.epochs[e].skipped_batches) << stop_after;
  }
}

TEST(Train, EpochWithEveryBatchNonFiniteStops) {
  TempDir dir;
  ram::TrainValidation data = tiny_data();
  std::ranges::fill(data.train.pixels, kInfinitelyDark);
  ram::TrainingConfig config = tiny_training_config();
  config.skip_nonfinite_batches = true;
  expect_error([&] { ram::train(config, data, dir.sub("run"), ram::RunStart::fresh); },
               {"every batch of epoch 1", "non-finite"});
}

TEST(Train, CheckpointEveryWritesMidEpochCheckpointsThatResumeBitIdentically) {
  TempDir dir;
  const ram::TrainValidation data = tiny_data();
  ram::TrainingConfig config = tiny_monte_carlo_config();
  const ram::TrainResult full = ram::train(config, data, dir.sub("full"), ram::RunStart::fresh);

  config.checkpoint_every = 3;
  std::vector<std::uint64_t> saved_steps;
  std::vector<std::uint64_t> file_steps;
  ram::TrainCallbacks callbacks;
  const std::string out = dir.sub("every3");
  callbacks.checkpoint_saved = [&](std::uint64_t step) {
    saved_steps.push_back(step);
    file_steps.push_back(ram::load_checkpoint(file_in(out, ram::kCheckpointFile)).step);
  };
  const ram::TrainResult result = ram::train(config, data, out, ram::RunStart::fresh, callbacks);
  EXPECT_TRUE(same_bits(full.parameters, result.parameters));
  const std::uint64_t batches = data.train.size() / config.batch_size;  // 20
  std::vector<std::uint64_t> expected;
  for (std::uint64_t s = 3; s < 2 * batches; s += 3)
    if (s % batches != 0) expected.push_back(s);  // epoch ends checkpoint anyway
  EXPECT_EQ(saved_steps, expected);
  EXPECT_EQ(file_steps, expected);

  // Each mid-epoch checkpoint resumes to the uninterrupted result.
  for (std::uint64_t stop_after : {4u, 25u}) {
    const std::string part = dir.sub("part-" + std::to_string(stop_after));
    std::uint64_t steps = 0;
    ram::TrainCallbacks kill;
    kill.batch_done = [&](const ram::Progress&) {
      if (++steps == stop_after) throw Interrupted{};  // like a crash: no checkpoint of its own
    };
    EXPECT_THROW(ram::train(config, data, part, ram::RunStart::fresh, kill), Interrupted);
    EXPECT_EQ(ram::load_checkpoint(file_in(part, ram::kCheckpointFile)).step, stop_after / 3 * 3);
    const ram::TrainResult resumed = ram::train(config, data, part, ram::RunStart::resume);
    EXPECT_TRUE(same_bits(full.parameters, resumed.parameters)) << stop_after;
  }
}
