#include "ram/viz/compare.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "ram/run/run_directory.h"
#include "ram/viz/curves.h"
#include "support/test_support.h"
#include "support/training_support.h"

namespace ram::viz {
namespace {

using test::TempDir;

// A run directory holding a metrics.csv of the given validation errors, 30 s an epoch.
std::string write_run(const TempDir& root, const std::string& name,
                      const std::vector<double>& validation) {
  const std::string dir = root.sub(name);
  std::filesystem::create_directories(dir);
  std::vector<EpochMetrics> rows;
  for (std::size_t i = 0; i < validation.size(); ++i) {
    EpochMetrics m;
    m.epoch = static_cast<int>(i + 1);
    m.validation_error = validation[i];
    m.train_error = validation[i] * 0.9;
    m.seconds = 30;
    rows.push_back(m);
  }
  write_metrics_csv((std::filesystem::path(dir) / kMetricsFile).string(), rows);
  return dir;
}

TEST(Compare, TheTableHoldsEachRunsFigures) {
  TempDir root;
  const std::vector<ComparedRun> runs = {
      load_compared_run(write_run(root, "fast", {0.5, 0.1, 0.02, 0.025})),
      load_compared_run(write_run(root, "slow", {0.6, 0.3, 0.2}) + "/metrics.csv")};
  EXPECT_EQ(runs[0].name, "fast");
  EXPECT_EQ(runs[1].name, "metrics");  // a .csv is named by its stem
  EXPECT_EQ(compare_table(runs),
            "| run | epochs | final validation error | best validation error | wall time |\n"
            "|---|---|---|---|---|\n"
            "| fast | 4 | 2.50% | 2.00% (epoch 3) | 2.0 min |\n"
            "| metrics | 3 | 20.00% | 20.00% (epoch 3) | 1.5 min |\n");
}

// A column per target: the first epoch at or below it and the wall time up to then. A target
// given in percent matches an error of exactly that value despite rounding (2.0 / 100).
TEST(Compare, EachTargetGivesTheFirstEpochReachingItAndItsWallTime) {
  TempDir root;
  const std::vector<ComparedRun> runs = {
      load_compared_run(write_run(root, "fast", {0.5, 0.1, 0.02, 0.025})),
      load_compared_run(write_run(root, "slow", {0.6, 0.3, 0.2}))};
  EXPECT_EQ(
      compare_table(runs, {0.3, 2.0 / 100}),
      "| run | epochs | final validation error | best validation error | wall time | first "
      "at 30.00% | first at 2.00% |\n"
      "|---|---|---|---|---|---|---|\n"
      "| fast | 4 | 2.50% | 2.00% (epoch 3) | 2.0 min | epoch 2, 1.0 min | epoch 3, 1.5 min |\n"
      "| slow | 3 | 20.00% | 20.00% (epoch 3) | 1.5 min | epoch 2, 1.0 min | not reached |\n");
  const std::optional<TargetReached> hit = first_reaching(runs[0].metrics, 0.0201);
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->epoch, 3);
  EXPECT_DOUBLE_EQ(hit->seconds, 90);
  EXPECT_FALSE(first_reaching(runs[0].metrics, 0.0199).has_value());
}

// A model or checkpoint file carries the run's history: it compares like the run's metrics.csv,
// named by its run directory (or, moved elsewhere, by its own name).
TEST(Compare, AModelFileComparesByTheHistoryItCarries) {
  TempDir root;
  const std::string run = root.sub("tiny-run");
  TrainingConfig config = test::tiny_training_config();
  config.epochs = 3;
  train(config, test::tiny_data(), run, RunStart::fresh);
  const ComparedRun from_csv = load_compared_run(run);
  for (const char* file : {kModelFile, kCheckpointFile}) {
    const ComparedRun from_model = load_compared_run(run + "/" + file);
    EXPECT_EQ(from_model.name, "tiny-run");
    ASSERT_EQ(from_model.metrics.size(), 3u);
    for (std::size_t i = 0; i < 3; ++i) {
      EXPECT_EQ(from_model.metrics[i].epoch, from_csv.metrics[i].epoch);
      EXPECT_NEAR(from_model.metrics[i].validation_error, from_csv.metrics[i].validation_error,
                  1e-6);
      EXPECT_NEAR(from_model.metrics[i].seconds, from_csv.metrics[i].seconds, 1e-3);
    }
  }
  std::filesystem::copy_file(run + "/" + kModelFile, root.sub("kept.ram"));
  EXPECT_EQ(load_compared_run(root.sub("kept.ram")).name, "kept");
  EXPECT_FALSE(is_catch_run(root.sub("kept.ram")));
  std::ofstream(root.sub("broken.ram")) << "not a model";
  test::expect_error([&] { load_compared_run(root.sub("broken.ram")); }, {root.sub("broken.ram")});
}

TEST(Compare, OneLinePerRunOnALogAxisWithTheBestRinged) {
  TempDir root;
  const std::vector<ComparedRun> runs = {
      load_compared_run(write_run(root, "a", {0.5, 0.1, 0.02, 0.025})),
      load_compared_run(write_run(root, "b", {0.6, 0.3, 0.2}))};
  const Canvas canvas = compare_curves(runs);
  std::vector<const PathItem*> lines;
  std::vector<const CircleItem*> ringed;
  for (const CanvasItem& item : canvas.items()) {
    if (const auto* p = std::get_if<PathItem>(&item); p && p->points.size() > 2) lines.push_back(p);
    if (const auto* c = std::get_if<CircleItem>(&item); c && !c->filled) ringed.push_back(c);
  }
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]->points.size(), 4u);
  EXPECT_EQ(lines[1]->points.size(), 3u);
  EXPECT_NE(lines[0]->colour, lines[1]->colour);
  ASSERT_EQ(ringed.size(), 2u);
  EXPECT_DOUBLE_EQ(ringed[0]->centre.x, lines[0]->points[2].x);  // run a's best: epoch 3
  EXPECT_DOUBLE_EQ(ringed[0]->centre.y, lines[0]->points[2].y);
  bool legend = false, title = false;
  for (const TextItem& t : canvas.texts()) {
    legend = legend || t.text == "a: best 2.00% (epoch 3), final 2.50%";
    title = title || t.text == "validation error of 2 runs";
  }
  EXPECT_TRUE(legend);
  EXPECT_TRUE(title);
  test::expect_error([] { compare_curves({}); }, {"no runs"});
}

TEST(Compare, BadMetricsAreNamed) {
  TempDir root;
  test::expect_error([&] { load_compared_run(root.sub("missing")); },
                     {root.sub("missing/metrics.csv"), "cannot open"});
  const std::string empty = write_run(root, "empty", {});
  test::expect_error([&] { load_compared_run(empty); }, {empty + "/metrics.csv", "no epochs"});
  std::ofstream(root.sub("corrupt.csv")) << "epoch,validation_error\n1,0.5\n";
  test::expect_error([&] { load_compared_run(root.sub("corrupt.csv")); },
                     {root.sub("corrupt.csv"), "no column"});
}

}  // namespace
}  // namespace ram::viz
