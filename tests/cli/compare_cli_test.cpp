// `ram compare` and `ram report --curves-only`: figures from metrics.csv alone, and their bad
// input (a missing or corrupt table, an unknown figure format) as one clean error line.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "ram/train/catch_train.h"
#include "support/cli_support.h"
#include "support/test_support.h"

namespace fs = std::filesystem;

namespace {

using ram::test::CliRun;
using ram::test::contains;
using ram::test::describe;
using ram::test::expect_clean_error;
using ram::test::quote;
using ram::test::read_text;
using ram::test::run_ram;
using ram::test::TempDir;

std::string write_run(const TempDir& root, const std::string& name,
                      const std::vector<double>& validation, double seconds) {
  const std::string dir = root.sub(name);
  fs::create_directories(dir);
  std::vector<ram::EpochMetrics> rows;
  for (std::size_t i = 0; i < validation.size(); ++i) {
    ram::EpochMetrics m;
    m.epoch = static_cast<int>(i + 1);
    m.validation_error = validation[i];
    m.learning_rate = 0.001;
    m.seconds = seconds;
    rows.push_back(m);
  }
  ram::write_metrics_csv((fs::path(dir) / ram::kMetricsFile).string(), rows);
  return dir;
}

TEST(RamCompare, PrintsEachRunsFiguresAndWritesTheFigure) {
  TempDir root;
  const std::string a = write_run(root, "run-a", {0.3, 0.0183, 0.0162, 0.019}, 60);
  const std::string b = write_run(root, "run-b", {0.4, 0.05}, 90);
  const std::string out = root.sub("compare.svg");
  const CliRun r = run_ram(
      "compare " + quote(a) + " " + quote(b + "/metrics.csv") + " --out " + quote(out), root.str());
  ASSERT_TRUE(r.exited && r.code == 0) << describe(r);
  EXPECT_TRUE(contains(r.output, "| run-a | 4 | 1.90% | 1.62% (epoch 3) | 4.0 min |"))
      << describe(r);
  EXPECT_TRUE(contains(r.output, "| metrics | 2 | 5.00% | 5.00% (epoch 2) | 3.0 min |"))
      << describe(r);
  const std::string svg = read_text(out);
  EXPECT_TRUE(contains(svg, ">validation error of 2 runs</text>"));
  EXPECT_TRUE(contains(svg, ">run-a: best 1.62% (epoch 3), final 1.90%</text>"));
}

TEST(RamCompare, BadInputIsOneErrorLineNamingTheFile) {
  TempDir root;
  const std::string good = write_run(root, "good", {0.5}, 1);
  const CliRun missing = run_ram(
      "compare " + quote(good) + " " + quote(root.sub("nothing")) + " --out c.png", root.str());
  expect_clean_error(missing);
  EXPECT_TRUE(contains(missing.output, root.sub("nothing") + "/metrics.csv")) << describe(missing);
  std::ofstream(root.sub("corrupt.csv")) << "epoch,steps,loss\n1,2\n";
  const CliRun corrupt =
      run_ram("compare " + quote(root.sub("corrupt.csv")) + " --out c.png", root.str());
  expect_clean_error(corrupt);
  EXPECT_TRUE(contains(corrupt.output, root.sub("corrupt.csv"))) << describe(corrupt);
  const CliRun format = run_ram("compare " + quote(good) + " --out c.jpg", root.str());
  expect_clean_error(format);
  EXPECT_TRUE(contains(format.output, ".png or .svg")) << describe(format);
  EXPECT_FALSE(fs::exists(root.sub("c.png")));
  for (const char* target : {"0", "100", "-1", "nan", "1%"}) {
    const CliRun bad = run_ram("compare " + quote(good) + " --target " + target, root.str());
    expect_clean_error(bad);
    EXPECT_TRUE(contains(bad.output, "--target")) << describe(bad);
  }
}

// Without --out only the table; each --target adds a column, and a target stops a following
// run from being read as its value.
TEST(RamCompare, TargetsAddColumnsAndTheFigureIsOptional) {
  TempDir root;
  const std::string a = write_run(root, "run-a", {0.3, 0.0183, 0.0162, 0.019}, 60);
  const std::string b = write_run(root, "run-b", {0.4, 0.05}, 90);
  const CliRun r =
      run_ram("compare " + quote(a) + " --target 5 --target 1.83 " + quote(b), root.str());
  ASSERT_TRUE(r.exited && r.code == 0) << describe(r);
  EXPECT_TRUE(contains(r.output, "| first at 5.00% | first at 1.83% |")) << describe(r);
  EXPECT_TRUE(contains(r.output, "| 4.0 min | epoch 2, 2.0 min | epoch 2, 2.0 min |"))
      << describe(r);
  EXPECT_TRUE(contains(r.output,
                       "| run-b | 2 | 5.00% | 5.00% (epoch 2) | 3.0 min | epoch 2, 3.0 "
                       "min | not reached |"))
      << describe(r);
  EXPECT_FALSE(contains(r.output, "validation curves of")) << describe(r);
}

// Catch runs (metrics every 100 updates) compare by their catch rate; kinds do not mix.
TEST(RamCompare, CatchRunsCompareByTheirCatchRate) {
  TempDir root;
  auto catch_run = [&](const std::string& name, const std::vector<double>& rates) {
    const std::string dir = root.sub(name);
    fs::create_directories(dir);
    std::vector<ram::CatchMetrics> rows;
    for (std::size_t i = 0; i < rates.size(); ++i) {
      ram::CatchMetrics m;
      m.updates = 100 * (i + 1);
      m.frames = 73'600 * (i + 1);
      m.catch_rate = rates[i];
      m.entropy = -0.7 * ram::CatchGames::kFrames;
      m.seconds = 30.0 * static_cast<double>(i + 1);
      rows.push_back(m);
    }
    ram::write_metrics_csv((fs::path(dir) / ram::kMetricsFile).string(), rows);
    return dir;
  };
  const std::string a = catch_run("catch-a", {0.08, 0.5, 0.93, 0.91});
  const std::string b = catch_run("catch-b", {0.08, 0.3});
  const std::string out = root.sub("catch.svg");
  const CliRun r =
      run_ram("compare " + quote(a) + " " + quote(b) + " --out " + quote(out), root.str());
  ASSERT_TRUE(r.exited && r.code == 0) << describe(r);
  EXPECT_TRUE(contains(r.output, "| catch-a | 0.29M | 91.00% | 93.00% (0.22M) | 0.22M | 2.0 min |"))
      << describe(r);
  EXPECT_TRUE(contains(r.output, "| catch-b | 0.15M | 30.00% | 30.00% (0.15M) | not reached |"))
      << describe(r);
  EXPECT_TRUE(contains(read_text(out), ">catch rate (%)</text>"));
  const std::string classifier = write_run(root, "classifier", {0.5}, 1);
  const CliRun mixed =
      run_ram("compare " + quote(a) + " " + quote(classifier) + " --out c.png", root.str());
  expect_clean_error(mixed);
  EXPECT_TRUE(contains(mixed.output, "runs of one kind")) << describe(mixed);
  const CliRun target = run_ram("compare " + quote(a) + " --target 10", root.str());
  expect_clean_error(target);
  EXPECT_TRUE(contains(target.output, "classification runs")) << describe(target);
}

TEST(RamReport, CurvesOnlyNeedNoModelButAFullReportDoes) {
  TempDir root;
  const std::string run = write_run(root, "run-c", {0.3, 0.02}, 10);
  const CliRun curves = run_ram("report " + quote(run) + " --curves-only", root.str());
  ASSERT_TRUE(curves.exited && curves.code == 0) << describe(curves);
  EXPECT_GT(fs::file_size(fs::path(run) / "curves.png"), 1000u);
  const CliRun svg = run_ram(
      "report " + quote(run + "/metrics.csv") + " --curves-only --out " + quote(root.sub("c.svg")),
      root.str());
  ASSERT_TRUE(svg.exited && svg.code == 0) << describe(svg);
  EXPECT_TRUE(contains(read_text(root.sub("c.svg")), ">metrics: training curves, 2 epochs"));
  const CliRun no_model = run_ram("report " + quote(run), root.str());
  expect_clean_error(no_model);
  EXPECT_TRUE(contains(no_model.output, run + "/model.ram")) << describe(no_model);
  const CliRun no_metrics =
      run_ram("report " + quote(root.sub("empty")) + " --curves-only", root.str());
  expect_clean_error(no_metrics);
  EXPECT_TRUE(contains(no_metrics.output, root.sub("empty") + "/metrics.csv"))
      << describe(no_metrics);
}

}  // namespace
