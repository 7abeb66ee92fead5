#include "ram/train/training_config.h"

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

namespace {

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

// The annealed std is saved only when on, so that other configurations read as before (and by
// the PyTorch reference, which knows nothing of it).
TEST(TrainingConfigJson, AnnealedStdIsSavedOnlyWhenOn) {
  ram::TrainingConfig c = tiny_training_config();
  EXPECT_FALSE(ram::to_json(c).contains("initial_std"));
  EXPECT_EQ(ram::training_config_from_json(ram::to_json(c)).initial_std, 0);
  c.initial_std = 0.4;
  EXPECT_EQ(ram::to_json(c).at("initial_std"), 0.4);
  expect_same_config(c, ram::training_config_from_json(ram::to_json(c)));
  for (const double bad : {-0.1, 10.5, std::numeric_limits<double>::quiet_NaN()}) {
    ram::TrainingConfig b = c;
    b.initial_std = bad;
    expect_error([&] { ram::validate(b); }, {"initial std"});
  }
  ram::TrainingConfig random = c;
  random.random_glimpses = true;
  expect_error([&] { ram::validate(random); }, {"annealed std", "random glimpses"});
  ram::TrainingConfig conv = c;
  conv.architecture = "conv";
  expect_error([&] { ram::validate(conv); }, {"annealed std", "baseline"});
}

// Likewise the random first glimpse: written only when on; a damaged value is an error.
TEST(TrainingConfigJson, RandomFirstGlimpseIsSavedOnlyWhenOn) {
  ram::TrainingConfig c = tiny_training_config();
  EXPECT_FALSE(ram::to_json(c).at("model").contains("random_first_glimpse"));
  c.model.random_first_glimpse = true;
  nlohmann::json j = ram::to_json(c);
  EXPECT_EQ(j.at("model").at("random_first_glimpse"), true);
  expect_same_config(c, ram::training_config_from_json(j));
  j["model"]["random_first_glimpse"] = "yes";
  expect_error([&] { ram::training_config_from_json(j); }, {"random_first_glimpse"});
}

TEST(TrainingConfig, LocationStdAnnealsLinearlyOverTheRun) {
  ram::TrainingConfig c = tiny_training_config();
  c.model.location_std = 0.1;
  for (const std::uint64_t step : {0, 50, 100})
    EXPECT_EQ(ram::location_std_at(c, step, 101), 0.1) << "off: the model's std throughout";
  c.initial_std = 0.3;
  EXPECT_DOUBLE_EQ(ram::location_std_at(c, 0, 101), 0.3);
  EXPECT_DOUBLE_EQ(ram::location_std_at(c, 50, 101), 0.2);
  EXPECT_DOUBLE_EQ(ram::location_std_at(c, 100, 101), 0.1);  // the last step: the model's std
  EXPECT_DOUBLE_EQ(ram::location_std_at(c, 150, 101), 0.1);
  EXPECT_DOUBLE_EQ(ram::location_std_at(c, 0, 1), 0.1);  // a one-step run: the model's std
  EXPECT_LT(ram::location_std_at(c, 1, 101), ram::location_std_at(c, 0, 101));
}

// ---------------------------------------------------------------------------------------------
// Determinism

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
