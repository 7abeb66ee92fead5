// A run directory as the argument users have at hand: `ram train` without --out names one, and
// eval and info take it where they take a model file; eval keeps its result there (eval.json).
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "ram/run/run_directory.h"
#include "support/cli_support.h"
#include "support/test_support.h"

namespace fs = std::filesystem;

namespace {

using ram::test::CliRun;
using ram::test::contains;
using ram::test::describe;
using ram::test::expect_clean_error;
using ram::test::kTinyFlags;
using ram::test::quote;
using ram::test::read_text;
using ram::test::run_ram;
using ram::test::TempDir;
using ram::test::write_idx_dir;

// One tiny run per test process, trained without --out from inside root/.
class RunDirectoryCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new TempDir("-rundir");
    data_ = root_->sub("data");
    write_idx_dir(data_, 300, 100);
    train_ = new CliRun(run_ram("train " + std::string(kTinyFlags) + " --data " + quote(data_),
                                root_->str(), "cd " + quote(root_->str()) + " &&"));
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(root_->sub("runs"), ec))
      runs_.push_back(entry.path().string());
  }
  static void TearDownTestSuite() {
    delete train_;
    delete root_;
    train_ = nullptr;
    root_ = nullptr;
    runs_.clear();
  }
  void SetUp() override {
    ASSERT_TRUE(train_->exited && train_->code == 0) << describe(*train_);
    ASSERT_EQ(runs_.size(), 1u) << describe(*train_);
  }
  static const std::string& run() { return runs_.front(); }
  static CliRun ram(const std::string& args) { return run_ram(args, root_->str()); }

  static TempDir* root_;
  static std::string data_;
  static std::vector<std::string> runs_;
  static CliRun* train_;
};

TempDir* RunDirectoryCli::root_ = nullptr;
std::string RunDirectoryCli::data_;
std::vector<std::string> RunDirectoryCli::runs_;
CliRun* RunDirectoryCli::train_ = nullptr;

// The percentage of "validation error: X.XX%" or "test error: X.XX%".
double headline_percent(const CliRun& r) {
  std::smatch m;
  const std::regex headline(R"(^(?:validation|test) error: ([0-9]+\.[0-9][0-9])%$)");
  if (r.lines.empty() || !std::regex_match(r.lines[0], m, headline)) return -1;
  return std::stod(m[1]);
}

TEST_F(RunDirectoryCli, TrainWithoutOutWritesUnderRunsNamedAfterThePresetAndTime) {
  const std::string name = fs::path(run()).filename().string();
  EXPECT_TRUE(std::regex_match(name, std::regex(R"(mnist28-2g-[0-9]{8}-[0-9]{6})"))) << name;
  EXPECT_TRUE(fs::exists(fs::path(run()) / ram::kModelFile));
  EXPECT_TRUE(contains(train_->output, "writing the run to runs/" + name)) << describe(*train_);
  // --resume needs to be told which run.
  expect_clean_error(ram("train --resume"));
}

TEST_F(RunDirectoryCli, TheRunRecordsHowItWasStarted) {
  const nlohmann::json record =
      nlohmann::json::parse(read_text((fs::path(run()) / ram::kRunInfoFile).string()));
  EXPECT_EQ(record.at("command"), "ram train " + std::string(kTinyFlags) + " --data " + data_);
  EXPECT_GE(record.at("commit").get<std::string>().size(), 7u);
  EXPECT_EQ(record.at("started").get<std::string>().size(), 20u);  // 2026-12-03T19:30:00Z
}

TEST_F(RunDirectoryCli, EvalAndInfoTakeTheRunDirectory) {
  const std::string model = (fs::path(run()) / ram::kModelFile).string();
  const CliRun by_directory = ram("eval " + quote(run()) + " --threads 1");
  ASSERT_TRUE(by_directory.exited && by_directory.code == 0) << describe(by_directory);
  EXPECT_EQ(by_directory.output, ram("eval " + quote(model) + " --threads 1").output);

  const CliRun info = ram("info " + quote(run()));
  ASSERT_TRUE(info.exited && info.code == 0) << describe(info);
  EXPECT_TRUE(contains(info.output, "model: " + model + "\n")) << describe(info);

  const std::string empty = root_->sub("empty");
  fs::create_directories(empty);
  for (const std::string command : {"eval", "info"}) {
    const CliRun r = ram(command + " " + quote(empty));
    expect_clean_error(r);
    EXPECT_TRUE(contains(r.output, empty + " is a directory without model.ram")) << describe(r);
  }
}

TEST_F(RunDirectoryCli, EvalJsonIsTheTextsResultAndTheRunKeepsEachSplit) {
  const CliRun text = ram("eval " + quote(run()));
  const CliRun json = ram("eval " + quote(run()) + " --json");
  ASSERT_TRUE(json.exited && json.code == 0) << describe(json);
  const nlohmann::json result = nlohmann::json::parse(json.output);
  EXPECT_EQ(result.at("split"), "validation");
  EXPECT_EQ(result.at("images"), 30);
  EXPECT_NEAR(100 * result.at("error").get<double>(), headline_percent(text), 0.005);
  EXPECT_EQ(result.at("confusion").size(), 10u);
  EXPECT_EQ(result.at("policy"), "sampled locations");

  const fs::path record_file = fs::path(run()) / "eval.json";
  nlohmann::json record = nlohmann::json::parse(read_text(record_file.string()));
  EXPECT_EQ(record.at("validation").at("error"), result.at("error"));
  EXPECT_FALSE(record.contains("test"));

  const CliRun test = ram("eval " + quote(run()) + " --split test --greedy");
  ASSERT_TRUE(test.exited && test.code == 0) << describe(test);
  record = nlohmann::json::parse(read_text(record_file.string()));
  EXPECT_EQ(record.at("validation").at("error"), result.at("error"));  // kept
  EXPECT_EQ(record.at("test").at("images"), 100);
  EXPECT_EQ(record.at("test").at("policy"), "mean locations");
  EXPECT_NEAR(100 * record.at("test").at("error").get<double>(), headline_percent(test), 0.005);

  // Another data source is noted, and is not the run's own result.
  const std::string before = read_text(record_file.string());
  const std::string other = root_->sub("other");
  write_idx_dir(other, 300, 100);
  const CliRun elsewhere = ram("eval " + quote(run()) + " --data " + quote(other));
  ASSERT_TRUE(elsewhere.exited && elsewhere.code == 0) << describe(elsewhere);
  EXPECT_TRUE(contains(elsewhere.output, "was trained on " + data_ + "; evaluated on " + other))
      << describe(elsewhere);
  EXPECT_EQ(read_text(record_file.string()), before);
}

}  // namespace
