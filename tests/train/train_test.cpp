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

using ram::test::error_of;
using ram::test::expect_error;
using ram::test::random_digits;
using ram::test::read_text;
using ram::test::TempDir;
using ram::test::tiny_training_config;

std::string file_in(const std::string& dir, const char* name) {
  return (fs::path(dir) / name).string();
}

ram::TrainValidation tiny_data() {
  return ram::test::random_data(200, 50);
}

// A translated task, several samples per image: exercises every keyed random stream.
ram::TrainingConfig tiny_monte_carlo_config() {
  ram::TrainingConfig c = ram::test::tiny_translated_config(32, 2);
  c.monte_carlo = 2;
  c.eval_samples = 2;
  return c;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() &&
         (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

// Every field except the wall-clock ones.
void expect_same_metrics(const std::vector<ram::EpochMetrics>& a,
                         const std::vector<ram::EpochMetrics>& b) {
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
ram::TrainingConfig tiny_stopping_config() {
  ram::TrainingConfig c = tiny_monte_carlo_config();
  c.model.glimpses = 3;
  c.model.adaptive_stopping = true;
  c.model.glimpse_cost = 0.02;
  return c;
}

void expect_same_config(const ram::TrainingConfig& a, const ram::TrainingConfig& b) {
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
  EXPECT_EQ(a.threads, b.threads);
  EXPECT_EQ(a.seed, b.seed);
  EXPECT_EQ(a.init_range, b.init_range);
  EXPECT_EQ(a.eval_samples, b.eval_samples);
  EXPECT_EQ(a.validation_seed, b.validation_seed);
  EXPECT_EQ(a.skip_nonfinite_batches, b.skip_nonfinite_batches);
  EXPECT_EQ(a.checkpoint_every, b.checkpoint_every);
}

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> fields;
  std::stringstream ss(line);
  for (std::string field; std::getline(ss, field, ',');) fields.push_back(field);
  return fields;
}

const char* const kMetricsHeader =
    "epoch,steps,loss,cross_entropy,reinforce,baseline,train_error,validation_error,"
    "learning_rate,seconds,images_per_second,skipped_batches,train_glimpses,"
    "validation_glimpses,state_l1_mean,state_l1_max,advantage_max,saturated_means";

struct Interrupted {};

// ---------------------------------------------------------------------------------------------
// Configuration JSON

ram::TrainingConfig unusual_config() {
  ram::TrainingConfig c;
  c.model.image_height = c.model.image_width = 40;
  c.model.retina.glimpse_size = 6;
  c.model.retina.scales = 2;
  c.model.glimpses = 3;
  c.model.glimpse_hidden = 17;
  c.model.location_hidden = 19;
  c.model.glimpse_features = 23;
  c.model.core_size = 29;
  c.model.classes = 7;
  c.model.location_std = 0.123456789;
  c.model.reinforce_trains_core = true;
  c.model.core = "lstm";
  c.model.reward_baseline = "sigmoid";
  c.task.kind = ram::TaskKind::cluttered;
  c.task.canvas = 40;
  c.task.clutter_pieces = 3;
  c.task.clutter_size = 5;
  c.optimizer.kind = "adam";
  c.optimizer.learning_rate = 0.003;
  c.optimizer.final_learning_rate = 1e-4;
  c.optimizer.momentum = 0.5;
  c.optimizer.beta1 = 0.8;
  c.optimizer.beta2 = 0.99;
  c.optimizer.epsilon = 1e-7;
  c.optimizer.clip_norm = 5.25;
  c.optimizer.schedule = "exponential";
  c.loss.reinforce = 0.01;
  c.loss.baseline = 0.3;
  c.data = "/some/idx dir";
  c.epochs = 7;
  c.batch_size = 13;
  c.monte_carlo = 3;
  c.random_glimpses = true;
  c.threads = 3;
  c.seed = 0xFFFFFFFFFFFFFFFFULL;  // the full u64 range survives
  c.init_range = 0.0123;
  c.eval_samples = 4;
  c.validation_seed = 1234567890123ULL;
  c.skip_nonfinite_batches = true;
  c.checkpoint_every = 11;
  return c;
}

TEST(TrainingConfigJson, RoundTripKeepsEveryField) {
  const ram::TrainingConfig c = unusual_config();
  ram::validate(c);
  expect_same_config(c, ram::training_config_from_json(ram::to_json(c)));
  // Through text, as a checkpoint stores it.
  expect_same_config(c,
                     ram::training_config_from_json(nlohmann::json::parse(ram::to_json(c).dump())));
  // And the defaults-based tiny config too.
  expect_same_config(tiny_training_config(),
                     ram::training_config_from_json(ram::to_json(tiny_training_config())));
}

// Fields added after the first checkpoints were written: files without them still load.
// Optional when read: files from before these existed (RAM models, for the first two).
const std::vector<std::string> kFieldsAddedLater = {
    "/architecture",     "/conv_filters",       "/skip_nonfinite_batches",
    "/checkpoint_every", "/optimizer/schedule", "/model/reward_baseline"};

TEST(TrainingConfigJson, EveryMissingFieldThrows) {
  const nlohmann::json full = ram::to_json(unusual_config());
  const nlohmann::json flat = full.flatten();
  ASSERT_GT(flat.size(), 30u);
  for (const auto& item : flat.items()) {
    if (std::ranges::find(kFieldsAddedLater, item.key()) != kFieldsAddedLater.end()) continue;
    const nlohmann::json::json_pointer ptr(item.key());
    nlohmann::json j = full;
    j[ptr.parent_pointer()].erase(ptr.back());
    EXPECT_THROW(ram::training_config_from_json(j), ram::Error) << "without " << item.key();
  }
  for (const char* section : {"model", "task", "optimizer", "loss"}) {
    nlohmann::json j = full;
    j.erase(section);
    EXPECT_THROW(ram::training_config_from_json(j), ram::Error) << "without " << section;
  }
  EXPECT_THROW(ram::training_config_from_json(nlohmann::json::object()), ram::Error);
  EXPECT_THROW(ram::training_config_from_json(nlohmann::json::array()), ram::Error);
  EXPECT_THROW(ram::training_config_from_json(nlohmann::json()), ram::Error);
  EXPECT_THROW(ram::training_config_from_json(nlohmann::json(42)), ram::Error);
}

TEST(TrainingConfigJson, ConfigurationsFromBeforeLaterFieldsGetTheirDefaults) {
  nlohmann::json old = ram::to_json(unusual_config());
  for (const std::string& key : kFieldsAddedLater) {
    const nlohmann::json::json_pointer ptr(key);
    old[ptr.parent_pointer()].erase(ptr.back());
  }
  const ram::TrainingConfig c = ram::training_config_from_json(old);
  EXPECT_FALSE(c.skip_nonfinite_batches);
  EXPECT_EQ(c.checkpoint_every, 0u);
  EXPECT_EQ(c.optimizer.schedule, "linear");
  EXPECT_EQ(c.model.reward_baseline, "linear");
  nlohmann::json wrong = ram::to_json(unusual_config());
  wrong["checkpoint_every"] = -1;
  expect_error([&] { ram::training_config_from_json(wrong); }, {"checkpoint_every"});
}

TEST(TrainingConfigJson, ConfigurationsFromBeforeTheBaselinesLoadAsRam) {
  nlohmann::json j = ram::to_json(tiny_training_config());
  j.erase("architecture");
  j.erase("conv_filters");
  const ram::TrainingConfig c = ram::training_config_from_json(j);
  EXPECT_EQ(c.architecture, "ram");
  EXPECT_EQ(c.conv_filters, 16);
  ram::TrainingConfig conv = tiny_training_config();
  conv.architecture = "conv";
  conv.conv_filters = 8;
  const ram::TrainingConfig back = ram::training_config_from_json(ram::to_json(conv));
  EXPECT_EQ(back.architecture, "conv");
  EXPECT_EQ(back.conv_filters, 8);
}

TEST(TrainingConfigJson, BadValuesThrow) {
  const nlohmann::json full = ram::to_json(tiny_training_config());
  const std::vector<std::pair<std::string, nlohmann::json>> bad = {
      {"/epochs", "abc"},
      {"/epochs", 0},
      {"/epochs", -3},
      {"/batch_size", 0},
      {"/monte_carlo", 0},
      {"/threads", 0},
      {"/threads", 1000},
      {"/eval_samples", 0},
      {"/init_range", 0.0},
      {"/init_range", 11.0},
      {"/seed", "1"},
      {"/validation_seed", nlohmann::json::array()},
      {"/data", 5},
      {"/architecture", "lenet"},
      {"/architecture", 3},
      {"/conv_filters", 0},
      {"/random_glimpses", "yes"},
      {"/task/kind", "nonsense"},
      {"/task/canvas", 20},         // smaller than the digits
      {"/task/canvas", 30},         // not the model's image size
      {"/task/clutter_pieces", 2},  // clutter on a centred task
      {"/optimizer/kind", "foo"},
      {"/optimizer/learning_rate", -1.0},
      {"/optimizer/momentum", 1.0},
      {"/model/glimpses", 0},
      {"/model/core_size", 0},
      {"/model/location_std", -1.0},
      {"/model/core", "lstm2"},
      {"/model/glimpse_size", "big"},
      {"/loss/reinforce", -1.0},
      {"/loss/baseline", "x"},
  };
  for (const auto& [pointer, value] : bad) {
    nlohmann::json j = full;
    j[nlohmann::json::json_pointer(pointer)] = value;
    EXPECT_THROW(ram::training_config_from_json(j), ram::Error) << pointer << " = " << value;
  }
}

// ---------------------------------------------------------------------------------------------
// Determinism

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

// A new run must not silently replace a run's files: it is refused unless told to overwrite.
TEST(Train, NewRunRefusesADirectoryHoldingARunUnlessToldToOverwrite) {
  TempDir dir;
  const ram::TrainValidation data = tiny_data();
  const ram::TrainingConfig config = tiny_training_config();
  const ram::TrainResult first = ram::train(config, data, dir.str(), ram::RunStart::fresh);
  const auto model_bytes = read_text(file_in(dir.str(), ram::kModelFile));
  expect_error([&] { ram::train(config, data, dir.str(), ram::RunStart::fresh); },
               {dir.str(), "holds a finished run", "--resume", "--overwrite"});
  EXPECT_EQ(read_text(file_in(dir.str(), ram::kModelFile)), model_bytes);
  fs::remove(file_in(dir.str(), ram::kModelFile));
  expect_error([&] { ram::train(config, data, dir.str(), ram::RunStart::fresh); },
               {dir.str(), "holds an unfinished run"});

  ram::TrainingConfig other = config;
  other.seed = 6;
  const ram::TrainResult replaced = ram::train(other, data, dir.str(), ram::RunStart::overwrite);
  EXPECT_FALSE(same_bits(first.parameters, replaced.parameters));
  const ram::SavedModel model = ram::load_model(file_in(dir.str(), ram::kModelFile));
  EXPECT_EQ(model.config.seed, 6u);
  EXPECT_TRUE(same_bits(model.parameters, replaced.parameters));
  EXPECT_EQ(model.history.size(), replaced.epochs.size());
}

// A resumed run reads its checkpoint once, when the directory is opened: the settings the caller
// took from it and the position training continues from are the same file's, even if the file
// changes in between (here it is destroyed).
TEST(Train, ResumeContinuesFromTheCheckpointReadWhenTheDirectoryWasOpened) {
  TempDir dir;
  const std::string a = dir.sub("a"), b = dir.sub("b");
  const ram::TrainValidation data = tiny_data();
  ram::TrainingConfig config = tiny_training_config();
  config.epochs = 2;
  const ram::TrainResult full = ram::train(config, data, a, ram::RunStart::fresh);
  ram::TrainCallbacks stop_after_1;
  stop_after_1.epoch_done = [](const ram::EpochMetrics&) { throw Interrupted{}; };
  EXPECT_THROW(ram::train(config, data, b, ram::RunStart::fresh, stop_after_1), Interrupted);

  const ram::RunDirectory directory(b, ram::RunStart::resume);
  ASSERT_TRUE(directory.resumed().has_value());
  const ram::SavedModel saved = ram::saved_model(*directory.resumed(), directory.checkpoint_path());
  EXPECT_EQ(saved.epoch, 1u);
  std::ofstream(file_in(b, ram::kCheckpointFile), std::ios::trunc) << "not a checkpoint";
  const ram::TrainResult resumed = ram::train(ram::resumed_config(saved, {}), data, directory);
  EXPECT_TRUE(same_bits(full.parameters, resumed.parameters));
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

TEST(Train, ResumeWithoutCheckpointThrowsNamingThePath) {
  TempDir dir;
  const ram::TrainValidation data = tiny_data();
  const std::string message =
      error_of([&] { ram::train(tiny_training_config(), data, dir.str(), ram::RunStart::resume); });
  EXPECT_NE(message.find(file_in(dir.str(), ram::kCheckpointFile)), std::string::npos) << message;

  const std::string missing_dir = dir.sub("does-not-exist");
  const std::string message2 = error_of(
      [&] { ram::train(tiny_training_config(), data, missing_dir, ram::RunStart::resume); });
  EXPECT_NE(message2.find(missing_dir), std::string::npos) << message2;

  EXPECT_THROW(ram::train(tiny_training_config(), data, "", ram::RunStart::resume), ram::Error);
}

TEST(LoadModel, ParameterCountMismatchThrowsNamingFileAndCounts) {
  TempDir dir;
  const ram::TrainingConfig config = tiny_training_config();
  const std::size_t needed = ram::RamModel<float>(config.model).parameter_count();
  const std::string path = dir.sub("wrong-size.ram");
  ram::Checkpoint c;
  c.config_json = ram::to_json(config).dump();
  c.parameters.assign(needed - 3, 0.25f);
  c.epoch = 1;
  c.step = 20;
  ram::save_checkpoint(path, c);
  const std::string message = error_of([&] { ram::load_model(path); });
  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_NE(message.find(std::to_string(needed - 3)), std::string::npos) << message;
  EXPECT_NE(message.find(std::to_string(needed)), std::string::npos) << message;

  // The right count loads.
  c.parameters.assign(needed, 0.25f);
  ram::save_checkpoint(path, c);
  const ram::SavedModel ok = ram::load_model(path);
  EXPECT_EQ(ok.parameters.size(), needed);
  EXPECT_EQ(ok.epoch, 1u);
  EXPECT_EQ(ok.step, 20u);
}

TEST(LoadModel, BadConfigurationOrMissingFileThrowsNamingTheFile) {
  TempDir dir;
  const std::string path = dir.sub("bad-config.ram");
  ram::Checkpoint c;
  nlohmann::json j = ram::to_json(tiny_training_config());
  j["epochs"] = 0;
  c.config_json = j.dump();
  c.parameters.assign(10, 0.0f);
  ram::save_checkpoint(path, c);
  const std::string message = error_of([&] { ram::load_model(path); });
  EXPECT_NE(message.find(path), std::string::npos) << message;

  const std::string missing = dir.sub("missing.ram");
  const std::string message2 = error_of([&] { ram::load_model(missing); });
  EXPECT_NE(message2.find(missing), std::string::npos) << message2;
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

}  // namespace

namespace ram {
namespace {

// nlohmann's get<T>() would turn 2.7 into 2, true into 1 and -1 into 2^64-1; a configuration
// file with such values is damaged, not a request.
TEST(TrainConfigJson, WrongJsonTypesAreRejectedNotConverted) {
  const nlohmann::json good = to_json(TrainingConfig{});
  ASSERT_NO_THROW(training_config_from_json(good));
  const std::vector<std::pair<std::vector<std::string>, nlohmann::json>> damaged = {
      {{"epochs"}, 2.7},
      {{"epochs"}, true},
      {{"seed"}, -1},
      {{"model", "glimpses"}, "6"},
      {{"optimizer", "learning_rate"}, "0.1"},
      {{"random_glimpses"}, 0},
      {{"batch_size"}, 1e12},
  };
  for (const auto& [path, value] : damaged) {
    nlohmann::json j = good;
    nlohmann::json* field = &j;
    for (const auto& key : path) field = &(*field)[key];
    *field = value;
    EXPECT_THROW(training_config_from_json(j), Error) << path.back() << " = " << value.dump();
  }
}

}  // namespace
}  // namespace ram

namespace {

// ---------------------------------------------------------------------------------------------
// Skipping non-finite batches, checkpoint interval, the run directory's lock

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

TEST(Train, ASecondRunIntoTheSameDirectoryIsRefusedWhileTheFirstRuns) {
  TempDir dir;
  const ram::TrainValidation data = tiny_data();
  const ram::TrainingConfig config = tiny_training_config();
  const std::string out = dir.sub("run");
  std::string second_error;
  ram::TrainCallbacks callbacks;
  callbacks.batch_done = [&](const ram::Progress& p) {
    if (p.epoch == 1 && p.batch == 1)
      second_error = error_of([&] { ram::train(config, data, out, ram::RunStart::fresh); });
  };
  ram::train(config, data, out, ram::RunStart::fresh, callbacks);
  EXPECT_NE(second_error.find("another training run"), std::string::npos) << second_error;
  EXPECT_NE(second_error.find(out), std::string::npos) << second_error;
  // Released at the end: a resume can take it.
  EXPECT_NO_THROW(ram::train(config, data, out, ram::RunStart::resume));
}

TEST(Train, TemporaryFilesOfAKilledRunAreRemoved) {
  TempDir dir;
  const std::string out = dir.sub("run");
  fs::create_directories(out);
  for (const char* name : {"checkpoint.ram.tmp.4242", "model.ram.tmp.17", "metrics.csv.tmp"})
    std::ofstream(file_in(out, name)) << "half-written";
  std::ofstream(file_in(out, "notes.txt")) << "the user's";
  ram::train(tiny_training_config(), tiny_data(), out, ram::RunStart::fresh);
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(out))
    names.push_back(entry.path().filename().string());
  std::ranges::sort(names);
  // The lock file too is gone after a run that ended normally.
  EXPECT_EQ(names,
            (std::vector<std::string>{"checkpoint.ram", "metrics.csv", "model.ram", "notes.txt"}));
}
