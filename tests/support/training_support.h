#pragma once
// The data and configurations the training tests share: random digits and the smallest models
// worth training, each defined once. Header-only; include it with a path relative to the test file.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "ram/env/image_set.h"
#include "ram/train/catch_train.h"
#include "ram/train/train.h"

namespace ram::test {

// n random 28x28 "digits" with random labels 0..9. Grey levels are whole bytes / 255, so that an
// IDX file holds them exactly.
inline ImageSet random_digits(std::size_t n, std::uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int> byte(0, 255), label(0, 9);
  ImageSet set;
  set.rows = set.cols = 28;
  set.pixels.resize(n * set.image_size());
  for (float& p : set.pixels) p = static_cast<float>(byte(gen)) / 255.0f;
  for (std::size_t i = 0; i < n; ++i) set.labels.push_back(static_cast<std::uint8_t>(label(gen)));
  return set;
}

// Training and validation sets of random digits.
inline TrainValidation random_data(std::size_t train, std::size_t validation) {
  return {random_digits(train, 11), random_digits(validation, 12)};
}

// The smallest RAM the tests train: 28x28 centred digits, 2 glimpses of 4x4 at one scale, 16
// units everywhere, batches of 10, 2 epochs, 2 threads; an epoch of 200 digits takes milliseconds.
inline TrainingConfig tiny_training_config() {
  TrainingConfig c;
  c.model.image_height = c.model.image_width = 28;
  c.model.retina.glimpse_size = 4;
  c.model.retina.scales = 1;
  c.model.glimpses = 2;
  c.model.glimpse_hidden = 16;
  c.model.location_hidden = 16;
  c.model.glimpse_features = 16;
  c.model.core_size = 16;
  c.task.kind = TaskKind::centred;
  c.task.canvas = 28;
  c.data = "unused";
  c.epochs = 2;
  c.batch_size = 10;
  c.threads = 2;
  c.seed = 5;
  return c;
}

// The same on a translated task of `canvas` pixels, with `scales` retina scales.
inline TrainingConfig tiny_translated_config(int canvas, int scales) {
  TrainingConfig c = tiny_training_config();
  c.task.kind = TaskKind::translated;
  c.task.canvas = c.model.image_height = c.model.image_width = canvas;
  c.model.retina.scales = scales;
  return c;
}

// The smallest Catch agent the tests train: 6 updates of 10 episodes, a report every 2.
inline CatchTrainingConfig tiny_catch_config(int threads) {
  CatchTrainingConfig c;
  c.agent.glimpse_hidden = 8;
  c.agent.location_hidden = 8;
  c.agent.glimpse_features = 12;
  c.agent.core_size = 10;
  c.batch_size = 10;
  c.frames = 6 * 10 * CatchGames::kFrames;
  c.report_every = 2;
  c.threads = threads;
  c.seed = 3;
  return c;
}

// ---- Helpers of the trainer tests ----

inline std::string file_in(const std::string& dir, const char* name) {
  return (std::filesystem::path(dir) / name).string();
}

inline TrainValidation tiny_data() {
  return random_data(200, 50);
}

// A translated task, several samples per image: exercises every keyed random stream.
inline TrainingConfig tiny_monte_carlo_config() {
  TrainingConfig c = tiny_translated_config(32, 2);
  c.monte_carlo = 2;
  c.eval_samples = 2;
  return c;
}

inline bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() &&
         (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

// Every field except the wall-clock ones.
inline void expect_same_metrics(const std::vector<EpochMetrics>& a,
                                const std::vector<EpochMetrics>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    SCOPED_TRACE("epoch index " + std::to_string(i));
    EXPECT_EQ(a[i].epoch, b[i].epoch);
    EXPECT_EQ(a[i].steps, b[i].steps);
    EXPECT_EQ(a[i].loss, b[i].loss);
    EXPECT_EQ(a[i].cross_entropy, b[i].cross_entropy);
    EXPECT_EQ(a[i].reinforce, b[i].reinforce);
    EXPECT_EQ(a[i].baseline, b[i].baseline);
    EXPECT_EQ(a[i].train_error, b[i].train_error);
    EXPECT_EQ(a[i].validation_error, b[i].validation_error);
    EXPECT_EQ(a[i].learning_rate, b[i].learning_rate);
    EXPECT_EQ(a[i].train_glimpses, b[i].train_glimpses);
    EXPECT_EQ(a[i].validation_glimpses, b[i].validation_glimpses);
    EXPECT_EQ(a[i].state_l1_mean, b[i].state_l1_mean);
    EXPECT_EQ(a[i].state_l1_max, b[i].state_l1_max);
    EXPECT_EQ(a[i].advantage_max, b[i].advantage_max);
    EXPECT_EQ(a[i].saturated_means, b[i].saturated_means);
  }
}

// tiny_monte_carlo_config with a learned stop after each of at most 3 glimpses.
inline TrainingConfig tiny_stopping_config() {
  TrainingConfig c = tiny_monte_carlo_config();
  c.model.glimpses = 3;
  c.model.adaptive_stopping = true;
  c.model.glimpse_cost = 0.02;
  return c;
}

inline std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

inline std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> fields;
  std::stringstream ss(line);
  for (std::string field; std::getline(ss, field, ',');) fields.push_back(field);
  return fields;
}

inline const char* const kMetricsHeader =
    "epoch,steps,loss,cross_entropy,reinforce,baseline,train_error,validation_error,"
    "learning_rate,seconds,images_per_second,skipped_batches,train_glimpses,"
    "validation_glimpses,state_l1_mean,state_l1_max,advantage_max,saturated_means";

// Thrown from a callback to stop a run the way a crash would, without a checkpoint of its own.
struct Interrupted {};

// Every field of two configurations.
inline void expect_same_config(const TrainingConfig& a, const TrainingConfig& b) {
  EXPECT_EQ(a.model.image_height, b.model.image_height);
  EXPECT_EQ(a.model.image_width, b.model.image_width);
  EXPECT_EQ(a.model.retina.glimpse_size, b.model.retina.glimpse_size);
  EXPECT_EQ(a.model.retina.scales, b.model.retina.scales);
  EXPECT_EQ(a.model.glimpses, b.model.glimpses);
  EXPECT_EQ(a.model.glimpse_hidden, b.model.glimpse_hidden);
  EXPECT_EQ(a.model.location_hidden, b.model.location_hidden);
  EXPECT_EQ(a.model.glimpse_features, b.model.glimpse_features);
  EXPECT_EQ(a.model.core_size, b.model.core_size);
  EXPECT_EQ(a.model.classes, b.model.classes);
  EXPECT_EQ(a.model.core, b.model.core);
  EXPECT_EQ(a.model.location_std, b.model.location_std);
  EXPECT_EQ(a.model.reinforce_trains_core, b.model.reinforce_trains_core);
  EXPECT_EQ(a.model.reward_baseline, b.model.reward_baseline);
  EXPECT_EQ(a.model.random_first_glimpse, b.model.random_first_glimpse);
  EXPECT_EQ(a.optimizer.schedule, b.optimizer.schedule);
  EXPECT_EQ(a.task.kind, b.task.kind);
  EXPECT_EQ(a.task.canvas, b.task.canvas);
  EXPECT_EQ(a.task.clutter_pieces, b.task.clutter_pieces);
  EXPECT_EQ(a.task.clutter_size, b.task.clutter_size);
  EXPECT_EQ(a.optimizer.kind, b.optimizer.kind);
  EXPECT_EQ(a.optimizer.learning_rate, b.optimizer.learning_rate);
  EXPECT_EQ(a.optimizer.final_learning_rate, b.optimizer.final_learning_rate);
  EXPECT_EQ(a.optimizer.momentum, b.optimizer.momentum);
  EXPECT_EQ(a.optimizer.beta1, b.optimizer.beta1);
  EXPECT_EQ(a.optimizer.beta2, b.optimizer.beta2);
  EXPECT_EQ(a.optimizer.epsilon, b.optimizer.epsilon);
  EXPECT_EQ(a.optimizer.clip_norm, b.optimizer.clip_norm);
  EXPECT_EQ(a.loss.reinforce, b.loss.reinforce);
  EXPECT_EQ(a.loss.baseline, b.loss.baseline);
  EXPECT_EQ(a.data, b.data);
  EXPECT_EQ(a.epochs, b.epochs);
  EXPECT_EQ(a.batch_size, b.batch_size);
  EXPECT_EQ(a.monte_carlo, b.monte_carlo);
  EXPECT_EQ(a.random_glimpses, b.random_glimpses);
  EXPECT_EQ(a.initial_std, b.initial_std);
  EXPECT_EQ(a.threads, b.threads);
  EXPECT_EQ(a.seed, b.seed);
  EXPECT_EQ(a.init_range, b.init_range);
  EXPECT_EQ(a.eval_samples, b.eval_samples);
  EXPECT_EQ(a.validation_seed, b.validation_seed);
  EXPECT_EQ(a.skip_nonfinite_batches, b.skip_nonfinite_batches);
  EXPECT_EQ(a.checkpoint_every, b.checkpoint_every);
}

}  // namespace ram::test
