// The pieces every trainer shares around its gradient: the checked optimiser step (apply, skip,
// or stop with a message naming where and what is kept), the checkpoint of a run's position and
// the restart from it, and the parameter-count check of a loaded file.
#include "ram/run/training_run.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "ram/run/checkpoint.h"
#include "ram/util/error.h"
#include "support/test_support.h"

namespace {

using ram::AlignedVector;
using ram::Optimizer;
using ram::OptimizerConfig;
using ram::RunDirectory;
using ram::RunStart;
using ram::StepOutcome;
using ram::test::error_of;
using ram::test::TempDir;

OptimizerConfig plain_sgd() {
  OptimizerConfig c;
  c.kind = "sgd";
  c.learning_rate = 0.5;
  c.final_learning_rate = 0.5;
  c.momentum = 0;
  return c;
}

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

TEST(TakeStep, AppliesAFiniteStep) {
  const RunDirectory nowhere("", RunStart::fresh);
  ram::ThreadPool pool(1);
  Optimizer optimizer(plain_sgd(), 2, 10);
  AlignedVector<float> params = {1.0f, 2.0f}, grad = {0.5f, -1.0f};
  EXPECT_EQ(ram::take_step(optimizer, params, grad, 3.0, false, pool, nowhere, [] { return ""; }),
            StepOutcome::applied);
  EXPECT_EQ(params[0], 0.75f);
  EXPECT_EQ(params[1], 2.5f);
  EXPECT_EQ(optimizer.steps_taken(), 1u);
  EXPECT_EQ(optimizer.steps_skipped(), 0u);
}

TEST(TakeStep, SkipsANonFiniteLossOrGradientWhenAskedAndLeavesTheParameters) {
  const RunDirectory nowhere("", RunStart::fresh);
  ram::ThreadPool pool(1);
  Optimizer optimizer(plain_sgd(), 2, 10);
  AlignedVector<float> params = {1.0f, 2.0f}, grad = {0.5f, -1.0f}, bad_grad = {kNaN, 1.0f};
  const auto where = [] { return std::string("here"); };
  EXPECT_EQ(ram::take_step(optimizer, params, grad, std::nan(""), true, pool, nowhere, where),
            StepOutcome::skipped);
  EXPECT_EQ(ram::take_step(optimizer, params, bad_grad, 1.0, true, pool, nowhere, where),
            StepOutcome::skipped);
  EXPECT_EQ(params[0], 1.0f);
  EXPECT_EQ(params[1], 2.0f);
  EXPECT_EQ(optimizer.steps_taken(), 2u);  // the schedule moves on
  EXPECT_EQ(optimizer.steps_skipped(), 2u);
}

TEST(TakeStep, StopsNamingWhereWhatAndWhatTheDirectoryKeeps) {
  TempDir dir;
  const RunDirectory run(dir.sub("run"), RunStart::fresh);
  ram::ThreadPool pool(1);
  Optimizer optimizer(plain_sgd(), 2, 10);
  AlignedVector<float> params = {1.0f, 2.0f}, grad = {0.5f, -1.0f}, bad_grad = {kNaN, 1.0f};
  const auto where = [] { return std::string("epoch 3, batch 7"); };
  const std::string loss = error_of(
      [&] { ram::take_step(optimizer, params, grad, std::nan(""), false, pool, run, where); });
  EXPECT_EQ(loss,
            "training stopped: the loss is not finite at epoch 3, batch 7; no checkpoint "
            "had been written yet in " +
                run.path());
  ram::save_checkpoint(run.checkpoint_path(),
                       ram::training_checkpoint({{"kind", "test"}}, params, optimizer, 0, {}));
  const std::string gradient =
      error_of([&] { ram::take_step(optimizer, params, bad_grad, 1.0, false, pool, run, where); });
  EXPECT_EQ(gradient,
            "training stopped: the gradient is not finite at epoch 3, batch 7; the "
            "last checkpoint " +
                run.checkpoint_path() + " is kept");
  // An update that overflows stops whatever the skip setting.
  AlignedVector<float> huge = {std::numeric_limits<float>::max(), 0.0f};
  AlignedVector<float> push = {-std::numeric_limits<float>::max(), 0.0f};
  const std::string overflow =
      error_of([&] { ram::take_step(optimizer, huge, push, 1.0, true, pool, run, where); });
  EXPECT_NE(overflow.find("a parameter is not finite after the update at epoch 3"),
            std::string::npos)
      << overflow;
}

TEST(TrainingCheckpoint, HoldsThePositionAndRestoresParametersAndOptimiser) {
  ram::ThreadPool pool(1);
  OptimizerConfig adam;
  Optimizer optimizer(adam, 3, 100);
  AlignedVector<float> params = {0.1f, -0.2f, 0.3f}, grad = {1.0f, 2.0f, -3.0f};
  optimizer.step(params, grad, &pool);
  optimizer.step(params, grad, &pool);
  optimizer.skip_step();
  const ram::Checkpoint c = ram::training_checkpoint({{"seed", 4}}, params, optimizer, 2,
                                                     {{"metrics", nlohmann::json::array()}});
  EXPECT_EQ(c.epoch, 2u);
  EXPECT_EQ(c.step, 3u);
  EXPECT_EQ(nlohmann::json::parse(c.config_json), (nlohmann::json{{"seed", 4}}));
  EXPECT_EQ(nlohmann::json::parse(c.optimizer_json), ram::to_json(adam));

  Optimizer resumed(adam, 3, 100);
  AlignedVector<float> restored(3, 0.0f);
  ram::restore_training(c, restored, resumed, 1);
  EXPECT_EQ(std::vector<float>(restored.begin(), restored.end()),
            std::vector<float>(params.begin(), params.end()));
  EXPECT_EQ(resumed.steps_taken(), 3u);
  EXPECT_EQ(resumed.steps_skipped(), 1u);
  // Both continue with the same update.
  optimizer.step(params, grad, &pool);
  resumed.step(restored, grad, &pool);
  EXPECT_EQ(std::vector<float>(restored.begin(), restored.end()),
            std::vector<float>(params.begin(), params.end()));
}

TEST(TrainingCheckpoint, ProgressAndParameterCountErrorsNameTheFile) {
  ram::Checkpoint c;
  c.parameters = {1.0f, 2.0f};
  c.progress_json = "{not json";
  EXPECT_NO_THROW(ram::require_parameter_count("f.ram", c, 2));
  EXPECT_EQ(error_of([&] { ram::require_parameter_count("f.ram", c, 3); }),
            "f.ram: the file holds 2 parameters but its configuration needs 3");
  const std::string progress =
      error_of([&] { ram::read_progress(c, "f.ram", [](const nlohmann::json&) {}); });
  EXPECT_EQ(progress.rfind("f.ram: training progress is unreadable: ", 0), 0u) << progress;
}

}  // namespace
