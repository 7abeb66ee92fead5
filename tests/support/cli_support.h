#pragma once
// Helpers for tests that run the real `ram` executable (RAM_CLI_PATH): running it with output
// captured, checking that a failure is one clean error line, and writing IDX data to train on.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "ram/env/idx.h"
#include "ram/experiments/presets.h"
#include "ram/models/ram_model.h"
#include "ram/run/checkpoint.h"
#include "ram/train/train.h"
#include "test_support.h"
#include "training_support.h"

namespace ram::test {

inline std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

struct CliRun {
  bool exited = false;  // false: killed by a signal
  int code = -1;
  std::string output;  // stdout and stderr together
  std::vector<std::string> lines;
  std::string command;
};

// Runs `env ram args` with stdout and stderr captured together in scratch_dir.
inline CliRun run_ram(const std::string& args, const std::string& scratch_dir,
                      const std::string& env = "") {
  static int counter = 0;
  const std::string out =
      (std::filesystem::path(scratch_dir) / ("output-" + std::to_string(++counter) + ".txt"))
          .string();
  CliRun r;
  r.command = env + (env.empty() ? "" : " ") + quote(RAM_CLI_PATH) + " " + args;
  const int status = std::system((r.command + " > " + quote(out) + " 2>&1 < /dev/null").c_str());
  r.exited = status != -1 && WIFEXITED(status);
  r.code = r.exited ? WEXITSTATUS(status) : -1;
  if (r.exited && r.code >= 128) r.exited = false;  // the shell reports a signal as 128 + n
  r.output = read_text(out);
  r.lines = lines_of(r.output);
  return r;
}

inline std::string describe(const CliRun& r) {
  return "command: " + r.command + "\nexit " + std::to_string(r.code) +
         (r.exited ? "" : " (signal)") + "\noutput:\n" + r.output;
}

inline bool starts_with(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

inline bool contains(const std::string& s, const std::string& what) {
  return s.find(what) != std::string::npos;
}

// A failure must be a normal exit with status 1 or 2 and exactly one line "ram: error: ...".
// `train` may print its header lines first; nothing may follow the error.
inline void expect_clean_error(const CliRun& r, bool allow_train_header = false) {
  SCOPED_TRACE(describe(r));
  ASSERT_TRUE(r.exited) << "killed by a signal";
  EXPECT_TRUE(r.code == 1 || r.code == 2) << "exit code " << r.code;
  int error_lines = 0;
  for (const std::string& line : r.lines) {
    if (contains(line, "ram: error:")) {
      ++error_lines;
      EXPECT_TRUE(starts_with(line, "ram: error: ")) << line;
      EXPECT_GT(line.size(), std::string("ram: error: ").size() + 3) << "empty message";
    }
  }
  EXPECT_EQ(error_lines, 1);
  ASSERT_FALSE(r.lines.empty());
  EXPECT_TRUE(starts_with(r.lines.back(), "ram: error: ")) << "the error is not the last line";
  for (const char* crash :
       {"terminate called", "Aborted", "core dumped", "Segmentation", "what():"})
    EXPECT_FALSE(contains(r.output, crash)) << crash;
  if (!allow_train_header) {
    EXPECT_EQ(r.lines.size(), 1u);
  } else {
    for (std::size_t i = 0; i + 1 < r.lines.size(); ++i)
      EXPECT_TRUE(starts_with(r.lines[i], "ram train: ") ||
                  starts_with(r.lines[i], "resuming from ") || starts_with(r.lines[i], "data: "))
          << "unexpected line before the error: " << r.lines[i];
  }
}

// An MNIST-format directory: train (gzipped) and t10k (plain) files.
inline void write_idx_dir(const std::string& dir, std::size_t train, std::size_t test) {
  std::filesystem::create_directories(dir);
  const std::filesystem::path d(dir);
  ram::write_idx((d / "train-images-idx3-ubyte.gz").string(),
                 (d / "train-labels-idx1-ubyte.gz").string(), random_digits(train, 1), true);
  ram::write_idx((d / "t10k-images-idx3-ubyte").string(), (d / "t10k-labels-idx1-ubyte").string(),
                 random_digits(test, 2), false);
}

// The tiny model the end-to-end tests train, as CLI flags and as a configuration.
inline const char* const kTinyFlags =
    "--preset mnist28-2g --epochs 1 --glimpse-size 4 --core-size 32 --glimpse-hidden 16 "
    "--location-hidden 16 --glimpse-features 32 --quiet";

inline TrainingConfig config_of_tiny_flags(const std::string& data_dir) {
  TrainingConfig c = find_preset("mnist28-2g").config;
  c.epochs = 1;
  c.model.retina.glimpse_size = 4;
  c.model.core_size = 32;
  c.model.glimpse_hidden = 16;
  c.model.location_hidden = 16;
  c.model.glimpse_features = 32;
  c.data = data_dir;
  return c;
}

// A valid model file written directly with the library (no training).
inline void write_valid_model(const std::string& path, const std::string& data_dir) {
  const TrainingConfig config = config_of_tiny_flags(data_dir);
  const RamModel<float> model(config.model);
  Checkpoint c;
  c.config_json = to_json(config).dump();
  c.parameters.resize(model.parameter_count());
  model.initialize(c.parameters, 1, 0.1);
  c.epoch = 1;
  c.step = 13;
  save_checkpoint(path, c);
}

// The JSON printed by `ram info` between "configuration:" and "parameters:".
inline nlohmann::json info_configuration(const CliRun& r) {
  const std::size_t begin = r.output.find("configuration:\n");
  const std::size_t end = r.output.find("\nparameters:");
  if (begin == std::string::npos || end == std::string::npos || end < begin) return {};
  return nlohmann::json::parse(r.output.substr(begin + 15, end - begin - 15));
}

}  // namespace ram::test
