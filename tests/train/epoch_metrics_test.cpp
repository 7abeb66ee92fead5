#include "ram/train/epoch_metrics.h"

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

TEST(ReadMetrics, ReturnsWhatTrainWrote) {
  TempDir dir;
  const ram::TrainResult r =
      ram::train(tiny_training_config(), tiny_data(), dir.str(), ram::RunStart::fresh);
  const std::vector<ram::EpochMetrics> read =
      ram::read_metrics(file_in(dir.str(), ram::kMetricsFile));
  ASSERT_EQ(read.size(), r.epochs.size());
  for (std::size_t i = 0; i < read.size(); ++i) {
    const ram::EpochMetrics &a = read[i], &b = r.epochs[i];
    EXPECT_EQ(a.epoch, b.epoch);
    EXPECT_EQ(a.steps, b.steps);
    EXPECT_EQ(a.skipped_batches, b.skipped_batches);
    // The file keeps 6 significant digits.
    for (auto [x, y] : {std::pair{a.loss, b.loss},
                        {a.cross_entropy, b.cross_entropy},
                        {a.reinforce, b.reinforce},
                        {a.baseline, b.baseline},
                        {a.train_error, b.train_error},
                        {a.validation_error, b.validation_error},
                        {a.learning_rate, b.learning_rate},
                        {a.seconds, b.seconds},
                        {a.images_per_second, b.images_per_second},
                        {a.state_l1_mean, b.state_l1_mean},
                        {a.state_l1_max, b.state_l1_max},
                        {a.advantage_max, b.advantage_max},
                        {a.saturated_means, b.saturated_means}})
      EXPECT_NEAR(x, y, 1e-5 * std::abs(y) + 1e-12);
  }
}

TEST(ReadMetrics, AcceptsAnyColumnOrderAndNamesFileLineAndProblem) {
  TempDir dir;
  const std::string path = dir.sub("metrics.csv");
  const auto write = [&](const std::string& text) { std::ofstream(path) << text; };
  write(
      "steps,epoch,loss,cross_entropy,reinforce,baseline,train_error,validation_error,"
      "learning_rate,seconds,images_per_second\n7,1,2.5,2.25,-0.5,0.25,0.5,0.4,0.001,1.5,900\n");
  const std::vector<ram::EpochMetrics> m = ram::read_metrics(path);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].epoch, 1);
  EXPECT_EQ(m[0].steps, 7u);
  EXPECT_EQ(m[0].reinforce, -0.5);
  EXPECT_EQ(m[0].images_per_second, 900);
  EXPECT_EQ(m[0].skipped_batches, 0u);  // a file from before the column existed
  EXPECT_EQ(m[0].train_glimpses, 0.0);  // likewise
  EXPECT_EQ(m[0].advantage_max, 0.0);   // likewise
  write(std::string(kMetricsHeader) + "\n1,2,3,4,5,6,7,8,9,10,11,4,5.5,6.25,90,120,1.5,0.25\n");
  EXPECT_EQ(ram::read_metrics(path).at(0).skipped_batches, 4u);
  EXPECT_EQ(ram::read_metrics(path).at(0).train_glimpses, 5.5);
  EXPECT_EQ(ram::read_metrics(path).at(0).validation_glimpses, 6.25);
  EXPECT_EQ(ram::read_metrics(path).at(0).state_l1_max, 120.0);
  EXPECT_EQ(ram::read_metrics(path).at(0).saturated_means, 0.25);

  expect_error([&] { ram::read_metrics(dir.sub("absent.csv")); }, {"absent.csv", "cannot open"});
  write("");
  expect_error([&] { ram::read_metrics(path); }, {path, "empty"});
  write("epoch,steps\n1,2\n");
  expect_error([&] { ram::read_metrics(path); }, {path, "no column", "loss"});
  write(std::string(kMetricsHeader) +
        "\n1,2,3,4,5,6,7,8,9,10,11,0,8,8,1,2,3,0\n1,2,3,x4,5,6,7,8,9,10,11,0,8,8,1,2,3,0\n");
  expect_error([&] { ram::read_metrics(path); }, {path + ":3:", "\"x4\"", "cross_entropy"});
  write(std::string(kMetricsHeader) + "\n1,2,3\n");
  expect_error([&] { ram::read_metrics(path); }, {path + ":2:", "3 values for 18 columns"});
  write(std::string(kMetricsHeader) + "\n1.5,2,3,4,5,6,7,8,9,10,11,0,8,8,1,2,3,0\n");
  expect_error([&] { ram::read_metrics(path); }, {path + ":2:", "\"1.5\"", "epoch"});
}
