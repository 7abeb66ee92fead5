// Training and evaluation of the Catch agent: determinism, thread-count independence of the
// evaluation, checkpoints, resume, and clear errors for bad files.
#include "ram/train/catch_train.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "ram/run/checkpoint.h"
#include "ram/train/train.h"
#include "ram/util/rng.h"
#include "support/test_support.h"
#include "support/training_support.h"

namespace fs = std::filesystem;

namespace {

using ram::test::expect_error;
using ram::test::TempDir;
using ram::test::tiny_catch_config;

TEST(CatchTrain, SameSeedAndThreadsGiveTheSameParameters) {
  const auto a = ram::train_catch(tiny_catch_config(2), "", ram::RunStart::fresh);
  const auto b = ram::train_catch(tiny_catch_config(2), "", ram::RunStart::fresh);
  EXPECT_EQ(a.parameters, b.parameters);
  ASSERT_EQ(a.history.size(), 3u);
  EXPECT_EQ(a.history.back().updates, 6u);
  EXPECT_EQ(a.history.back().frames, 6u * 10 * 23);
  auto other_seed = tiny_catch_config(2);
  other_seed.seed = 4;
  EXPECT_NE(ram::train_catch(other_seed, "", ram::RunStart::fresh).parameters, a.parameters);
}

TEST(CatchTrain, ThreadCountChangesOnlyRoundingOfTheGradientSum) {
  const auto one = ram::train_catch(tiny_catch_config(1), "", ram::RunStart::fresh);
  const auto three = ram::train_catch(tiny_catch_config(3), "", ram::RunStart::fresh);
  ASSERT_EQ(one.parameters.size(), three.parameters.size());
  // Same games and draws: the catch rates of the training episodes agree exactly as long as
  // rounding does not flip a sampled action; the parameters agree to rounding.
  double worst = 0;
  for (std::size_t i = 0; i < one.parameters.size(); ++i)
    worst = std::max(worst, double(std::abs(one.parameters[i] - three.parameters[i])));
  EXPECT_LT(worst, 1e-3);
}

TEST(CatchTrain, EvaluationDoesNotDependOnThreads) {
  const auto trained = ram::train_catch(tiny_catch_config(2), "", ram::RunStart::fresh);
  const ram::CatchAgent<float> agent(tiny_catch_config(2).agent);
  ram::ThreadPool one(1), three(3);
  for (auto policy : {ram::CatchPolicy::sample, ram::CatchPolicy::greedy}) {
    const auto a = ram::evaluate_catch(agent, trained.parameters, 300, policy, 7, one);
    const auto b = ram::evaluate_catch(agent, trained.parameters, 300, policy, 7, three);
    EXPECT_EQ(a.episodes, 300u);
    EXPECT_EQ(a.caught, b.caught);
  }
}

TEST(CatchTrain, ReferencesAreRandomAndPerfect) {
  const auto random = ram::evaluate_catch_reference(ram::CatchReference::random, 4000, 1);
  const auto tracker = ram::evaluate_catch_reference(ram::CatchReference::tracking, 4000, 1);
  EXPECT_GT(random.rate(), 0.04);
  EXPECT_LT(random.rate(), 0.15);
  EXPECT_EQ(tracker.caught, 4000u);
}

TEST(CatchTrain, WritesModelCheckpointMetricsAndResumesExactly) {
  TempDir dir;
  const auto full = ram::train_catch(tiny_catch_config(2), dir.sub("full"), ram::RunStart::fresh);
  EXPECT_TRUE(fs::exists(dir.sub("full/model.ram")));
  EXPECT_TRUE(fs::exists(dir.sub("full/checkpoint.ram")));
  std::ifstream metrics(dir.sub("full/metrics.csv"));
  std::string header, line;
  std::getline(metrics, header);
  EXPECT_EQ(header.rfind("updates,frames,catch_rate", 0), 0u);
  int lines = 0;
  while (std::getline(metrics, line)) ++lines;
  EXPECT_EQ(lines, 3);
  const auto saved = ram::load_catch_agent(dir.sub("full/model.ram"));
  EXPECT_EQ(saved.parameters, full.parameters);
  EXPECT_EQ(saved.updates, 6u);

  // Stop after the third update, then resume with another thread count's setting ignored for
  // the result (threads = 2 both times).
  int updates = 0;
  ram::CatchTrainCallbacks stop;
  stop.stop_requested = [&] { return ++updates == 3; };
  const auto part =
      ram::train_catch(tiny_catch_config(2), dir.sub("part"), ram::RunStart::fresh, stop);
  EXPECT_TRUE(part.interrupted);
  const auto rest = ram::train_catch(tiny_catch_config(2), dir.sub("part"), ram::RunStart::resume);
  EXPECT_FALSE(rest.interrupted);
  EXPECT_EQ(rest.parameters, full.parameters);
  ASSERT_EQ(rest.history.size(), full.history.size());
  EXPECT_EQ(rest.history.back().catch_rate, full.history.back().catch_rate);
}

// After a resume, frames/s counts only the frames this process played: updates here are followed
// by a 50 ms sleep, so the report after two of them (one sleep between) cannot exceed two
// updates' frames per 50 ms, which the four restored updates of its interval used to push it over.
TEST(CatchTrain, FramesPerSecondAfterAResumeCountsOnlyThisProcesssFrames) {
  TempDir dir;
  auto config = tiny_catch_config(1);
  config.report_every = 6;
  int updates = 0;
  ram::CatchTrainCallbacks stop;
  stop.stop_requested = [&] { return ++updates == 4; };
  ASSERT_TRUE(ram::train_catch(config, dir.str(), ram::RunStart::fresh, stop).interrupted);

  ram::CatchTrainCallbacks slow;
  slow.update_done = [](const ram::CatchProgress&) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  };
  const auto resumed = ram::train_catch(config, dir.str(), ram::RunStart::resume, slow);
  ASSERT_EQ(resumed.history.size(), 1u);
  const double frames_per_update = config.batch_size * ram::CatchGames::kFrames;
  EXPECT_GT(resumed.history[0].frames_per_second, 0);
  EXPECT_LE(resumed.history[0].frames_per_second, 2 * frames_per_update / 0.050);
}

// A resumed run keeps its settings (threads, unless given) and may be extended by frames.
TEST(CatchTrain, ResumeKeepsTheRunsSettingsAndMoreFramesExtendIt) {
  TempDir dir;
  const std::string out = dir.sub("run");
  ram::train_catch(tiny_catch_config(1), out, ram::RunStart::fresh);
  const std::string checkpoint = (fs::path(out) / ram::kCheckpointFile).string();
  const ram::SavedCatchAgent saved = ram::load_catch_agent(checkpoint);
  EXPECT_EQ(ram::resumed_catch_config(saved, {}).threads, 1);
  auto lr = tiny_catch_config(1);
  lr.optimizer.learning_rate = 0.5;
  expect_error([&] { ram::train_catch(lr, out, ram::RunStart::resume); },
               {checkpoint, "/optimizer/learning_rate"});
  ram::CatchResumeSettings fewer;
  fewer.frames = 10 * ram::CatchGames::kFrames;
  expect_error([&] { ram::resumed_catch_config(saved, fewer); }, {"cannot end after"});

  ram::CatchResumeSettings more;
  more.frames = 8 * 10 * ram::CatchGames::kFrames;  // 8 updates instead of 6
  const auto extended =
      ram::train_catch(ram::resumed_catch_config(saved, more), out, ram::RunStart::resume);
  EXPECT_EQ(ram::load_catch_agent((fs::path(out) / ram::kModelFile).string()).updates, 8u);
  EXPECT_EQ(extended.history.size(), 4u);  // a report every 2 updates
  // The model file leaves the optimiser's moments to the checkpoint, which resumes need.
  EXPECT_TRUE(
      ram::load_checkpoint((fs::path(out) / ram::kModelFile).string()).optimizer_state.empty());
  EXPECT_FALSE(ram::load_checkpoint(checkpoint).optimizer_state.empty());
}

TEST(CatchTrain, BadFilesAndSettingsGiveClearErrors) {
  TempDir dir;
  expect_error([&] { ram::load_catch_agent(dir.sub("missing.ram")); }, {"missing.ram"});
  { std::ofstream(dir.sub("junk.ram")) << "not a model"; }
  expect_error([&] { ram::load_catch_agent(dir.sub("junk.ram")); }, {"junk.ram"});
  // A classification checkpoint is refused by name.
  ram::Checkpoint c;
  c.config_json = ram::to_json(ram::TrainingConfig{}).dump();
  c.parameters = {1.0f};
  ram::save_checkpoint(dir.sub("classifier.ram"), c);
  expect_error([&] { ram::load_catch_agent(dir.sub("classifier.ram")); },
               {"classifier.ram", "not a Catch agent"});
  // And a Catch agent by the classification loader.
  ram::train_catch(tiny_catch_config(1), dir.sub("run"), ram::RunStart::fresh);
  expect_error([&] { ram::load_model(dir.sub("run/model.ram")); }, {"model.ram", "Catch"});
  // A parameter count that does not fit the configuration.
  ram::Checkpoint wrong = ram::load_checkpoint(dir.sub("run/model.ram"));
  wrong.parameters.pop_back();
  ram::save_checkpoint(dir.sub("short.ram"), wrong);
  expect_error([&] { ram::load_catch_agent(dir.sub("short.ram")); }, {"short.ram", "parameters"});
  auto bad = tiny_catch_config(1);
  bad.loss.discount = 1.5;
  expect_error([&] { ram::train_catch(bad, "", ram::RunStart::fresh); }, {"discount"});
  bad = tiny_catch_config(1);
  bad.agent.core = "gru";
  expect_error([&] { ram::train_catch(bad, "", ram::RunStart::fresh); }, {"gru"});
}

}  // namespace

namespace {

// Progress lines every 100k frames with the given entropy per frame (nats) and catch rate.
std::vector<ram::CatchMetrics> lines(const std::vector<std::pair<double, double>>& values) {
  std::vector<ram::CatchMetrics> history;
  for (std::size_t i = 0; i < values.size(); ++i) {
    ram::CatchMetrics m;
    m.frames = 100'000 * (i + 1);
    m.entropy = -values[i].first * ram::CatchGames::kFrames;  // the loss term: minus H
    m.catch_rate = values[i].second;
    history.push_back(m);
  }
  return history;
}

TEST(CatchCollapse, SaidAfterAMillionFramesOfLowEntropyAtTheRandomRate) {
  std::vector<std::pair<double, double>> v(9, {0.002, 0.08});
  EXPECT_FALSE(ram::catch_collapse(lines(v)));  // 0.9M frames: not yet
  v.push_back({0.004, 0.09});
  const auto c = ram::catch_collapse(lines(v));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->frames, 1'000'000u);
  EXPECT_DOUBLE_EQ(c->entropy, 0.004);
  EXPECT_DOUBLE_EQ(c->catch_rate, 0.09);
}

TEST(CatchCollapse, TheStretchStartsAfterTheLastHealthyLine) {
  std::vector<std::pair<double, double>> v(5, {1.0, 0.08});  // exploring at the random rate
  v.insert(v.end(), 10, {0.01, 0.08});
  EXPECT_EQ(ram::catch_collapse(lines(v))->frames, 1'000'000u);
  v.back() = {0.5, 0.08};  // the entropy came back
  EXPECT_FALSE(ram::catch_collapse(lines(v)));
}

TEST(CatchCollapse, NotSaidWhileExploringOrWhenCatching) {
  EXPECT_FALSE(ram::catch_collapse(lines(std::vector<std::pair<double, double>>(30, {0.9, 0.08}))));
  // A good deterministic player has a low entropy too.
  EXPECT_FALSE(ram::catch_collapse(lines(std::vector<std::pair<double, double>>(30, {0.02, 0.9}))));
  EXPECT_FALSE(ram::catch_collapse({}));
}

}  // namespace

namespace {

// The annealed location std: from initial_std to the agent's std over std_anneal_frames, then
// flat; off, the agent's std throughout. It is written to the model file only when on, and a
// configuration without it (older files) reads as off, although it is on by default.
TEST(CatchLocationStd, AnnealsLinearlyThenStaysAndIsSavedOnlyWhenOn) {
  ram::CatchTrainingConfig c;
  EXPECT_EQ(c.initial_std, 0.5);
  EXPECT_EQ(c.std_anneal_frames, 10'000'000u);
  c.batch_size = 10;  // 230 frames per update
  c.initial_std = 0;
  EXPECT_EQ(ram::catch_location_std(c, 0), c.agent.location_std);
  EXPECT_EQ(ram::catch_location_std(c, 1000), c.agent.location_std);
  EXPECT_FALSE(ram::to_json(c).contains("initial_std"));
  EXPECT_EQ(ram::catch_training_config_from_json(ram::to_json(c)).initial_std, 0);
  c.initial_std = 0.5;
  c.std_anneal_frames = 2300;  // 10 updates
  EXPECT_DOUBLE_EQ(ram::catch_location_std(c, 0), 0.5);
  EXPECT_DOUBLE_EQ(ram::catch_location_std(c, 5), 0.5 + (c.agent.location_std - 0.5) / 2);
  EXPECT_DOUBLE_EQ(ram::catch_location_std(c, 10), c.agent.location_std);
  EXPECT_DOUBLE_EQ(ram::catch_location_std(c, 50), c.agent.location_std);
  const ram::CatchTrainingConfig back = ram::catch_training_config_from_json(ram::to_json(c));
  EXPECT_EQ(back.initial_std, 0.5);
  EXPECT_EQ(back.std_anneal_frames, 2300u);
  c.initial_std = -1;
  EXPECT_THROW(ram::validate(c), ram::Error);
}

// A wider std spreads the sampled glimpses: the same draws land further from the policy's mean.
TEST(CatchLocationStd, TheWorkspacesStdScalesTheLocationNoise) {
  const ram::CatchTrainingConfig c = ram::test::tiny_catch_config(1);
  const ram::CatchAgent<double> agent(c.agent);
  std::vector<double> params(agent.parameter_count());
  agent.initialize(params, 1, 0.3);
  std::vector<double> draws(static_cast<std::size_t>(agent.draws_per_episode()) * 2);
  ram::Rng rng(3, {1});
  for (double& d : draws) d = rng.normal();
  double spread[2];
  for (int k = 0; k < 2; ++k) {
    ram::CatchGames games(2);
    ram::Rng game_rng(1, {2});
    games.reset(0, game_rng);
    games.reset(1, game_rng);
    ram::CatchWorkspace<double> ws;
    ws.location_std = k == 0 ? 0 : 2 * c.agent.location_std;
    agent.play(params.data(), games, 0, 2, ram::CatchPolicy::sample, draws.data(), c.loss, ws);
    spread[k] = (ws.sample[0] - ws.mean[0]).norm();
  }
  EXPECT_NEAR(spread[1], 2 * spread[0], 1e-12 * spread[0]);
}

}  // namespace
