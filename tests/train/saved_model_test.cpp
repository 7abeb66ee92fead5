#include "ram/train/saved_model.h"

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
