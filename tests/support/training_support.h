#pragma once
// The data and configurations the training tests share: random digits and the smallest models
// worth training, each defined once. Header-only; include it with a path relative to the test file.
#include <cstdint>
#include <random>

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

}  // namespace ram::test
