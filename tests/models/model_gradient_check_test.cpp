// The gradient-check table for models/ (support/gradient_check.h; the table of nn/ is
// tests/nn/gradient_check_test.cpp): the classifier in every configuration, the Catch agent and
// the baseline networks, in double, each against the loss its backward differentiates.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "ram/env/catch_game.h"
#include "ram/models/baselines.h"
#include "ram/models/catch_agent.h"
#include "ram/models/ram_model.h"
#include "ram/nn/parameters.h"
#include "ram/util/rng.h"
#include "support/gradient_check.h"
#include "support/model_support.h"

namespace ram::test {
namespace {

// `point` with the slots whose names start with one of `prefixes` taken from p: the loss of a
// term that reads a detached input, evaluated with only its own parameters perturbed.
std::vector<double> only(const ParamLayout& layout, const std::vector<double>& point,
                         const std::vector<double>& p,
                         std::initializer_list<const char*> prefixes) {
  std::vector<double> m = point;
  for (const ParamSlot& s : layout.slots())
    for (const char* prefix : prefixes)
      if (s.name.starts_with(prefix))
        std::copy_n(p.begin() + static_cast<std::ptrdiff_t>(s.offset), s.size(),
                    m.begin() + static_cast<std::ptrdiff_t>(s.offset));
  return m;
}

// Every ReLU output of an episode: the glimpse network's and, with the ReLU core, the states.
std::vector<bool> episode_relu_pattern(const EpisodeTape<double>& tape, const std::string& core) {
  return core == "relu"
             ? relu_pattern(tape.hidden_glimpse, tape.hidden_location, tape.feature, tape.state)
             : relu_pattern(tape.hidden_glimpse, tape.hidden_location, tape.feature);
}

// The classifier: backward(scale = 1/B) against (CE + w_rf RF + w_bl BL) / B, with the detached
// quantities held at their values at the point:
//   - the reward R and the advantage R - b_t;
//   - the state h_t the baseline reads (BL is evaluated with only the baseline.* slots taken
//     from the perturbed parameters);
//   - unless reinforce_trains_core, the state h_t the location and stop nets read (RF is
//     evaluated with only the location.* and stop.* slots perturbed).
// The locations (uniform in [-1.4, 1.4], some clipped) and the stop decisions are given
// (LocationMode::given, StopMode::given), hence fixed inputs; about a third of the decisions
// stop.
GradientCase classifier_case(const ModelConfig& config, const LossWeights& w, std::uint64_t seed,
                             int batch, std::vector<std::string> unreached = {}) {
  auto model = std::make_shared<const RamModel<double>>(config);
  GradientCase c;
  c.layout = model->layout();
  c.point = random_params(*model, seed, 0.6);
  c.unreached = std::move(unreached);
  const std::vector<float> images = random_images(config, batch, seed);
  const std::vector<double> draws = given_locations(*model, batch, seed);
  auto ws = std::make_shared<Workspace<double>>();  // scratch of every evaluation
  auto forward = [=](const std::vector<double>& p) {
    model->forward(p.data(), images.data(), batch, LocationMode::given, draws.data(), *ws,
                   StopMode::given);
  };
  forward(c.point);
  const std::vector<std::uint8_t> labels = mixed_labels(*ws);
  model->assign_rewards(labels.data(), *ws);
  const Mat<double> reward = ws->reward, advantage = ws->advantage;
  c.valid = [=, ref = episode_relu_pattern(*ws, config.core)](const std::vector<double>& p) {
    forward(p);
    return episode_relu_pattern(*ws, config.core) == ref;
  };
  c.analytic = gradient(*model, c.point, labels, w, 1.0 / batch, *ws);

  auto sums_at = [=](const std::vector<double>& p) {
    forward(p);
    ws->reward = reward;
    ws->advantage = advantage;
    return model->loss_sums(labels.data(), *ws);
  };
  c.loss = [=, layout = c.layout, point = c.point](const std::vector<double>& p) {
    const double ce = sums_at(p).cross_entropy;
    const double rf =
        sums_at(config.reinforce_trains_core ? p : only(layout, point, p, {"location.", "stop."}))
            .reinforce;
    const double bl = sums_at(only(layout, point, p, {"baseline."})).baseline;
    return (ce + w.reinforce * rf + w.baseline * bl) / batch;
  };
  return c;
}

ModelConfig with_sigmoid_baseline(ModelConfig c) {
  c.reward_baseline = "sigmoid";  // bounded to [0, 1], or [-c T, 1] with adaptive stopping
  return c;
}

ModelConfig with_lstm_core(ModelConfig c) {
  c.core = "lstm";
  return c;
}

ModelConfig with_random_first_glimpse(ModelConfig c) {
  c.random_first_glimpse = true;  // no REINFORCE term for l_0
  return c;
}

ModelConfig with_classifier_at_every_step(ModelConfig c) {
  c.classifier_at_every_step = true;  // the fixed-length model: the mean CE over the T steps
  return c;
}

// ---------------------------------------------------------------------------------------------
// The Catch agent.

// Raw locations uniform in [-1.3, 1.3] (some clipped) and random actions.
std::vector<double> given_catch_draws(std::uint64_t seed) {
  Rng rng(seed, {5});
  std::vector<double> d(static_cast<std::size_t>(kCatchGames) *
                        CatchAgent<double>::draws_per_episode());
  for (std::size_t i = 0; i < d.size(); ++i)
    d[i] = i % 3 == 2 ? static_cast<double>(rng.below(3)) : rng.uniform(-1.3, 1.3);
  return d;
}

// Game 0 caught, so that both rewards occur: the tracker's choices, replayed as given actions.
void make_game_zero_caught(std::vector<double>& draws) {
  CatchGames games = start_catch_games();
  std::vector<float> screen(CatchGames::kPixels), previous(CatchGames::kPixels);
  for (int s = 0; s < CatchGames::kFrames; ++s) {
    std::swap(screen, previous);
    games.render(0, screen.data());
    const auto a = tracking_action(screen.data(), s == 0 ? nullptr : previous.data());
    draws[static_cast<std::size_t>(s) * 3 + 2] = static_cast<double>(a);
    games.step(0, a);
  }
  EXPECT_EQ(games.reward(0), 1.0f);
}

// backward(scale 1/B) against the loss it differentiates, with the advantages held at their
// values at the point, the baseline reading a detached state (BL is evaluated with only the
// baseline.* slots perturbed) and, unless location_trains_core, the location net too.
GradientCase catch_case(const std::string& core, const CatchLossWeights& w, std::uint64_t seed,
                        bool location_trains_core = false) {
  auto agent =
      std::make_shared<const CatchAgent<double>>(small_catch_config(core, location_trains_core));
  GradientCase c;
  c.layout = agent->layout();
  c.point = random_catch_params(*agent, seed);
  std::vector<double> draws = given_catch_draws(seed);
  make_game_zero_caught(draws);
  auto ws = std::make_shared<CatchWorkspace<double>>();
  auto play = [=](const std::vector<double>& p) {
    CatchGames games = start_catch_games();
    agent->play(p.data(), games, 0, kCatchGames, CatchPolicy::given, draws.data(), w, *ws);
  };
  play(c.point);
  EXPECT_EQ(ws->reward(0, 0), 1.0);
  const Mat<double> location_advantage = ws->location_advantage;
  const Mat<double> action_advantage = ws->action_advantage;
  c.valid = [=, ref = episode_relu_pattern(*ws, core)](const std::vector<double>& p) {
    play(p);
    return episode_relu_pattern(*ws, core) == ref;
  };
  const double scale = 1.0 / kCatchGames;
  c.analytic.assign(c.point.size(), 0.0);
  agent->backward(c.point.data(), w, scale, *ws, c.analytic.data());

  auto sums_at = [=](const std::vector<double>& p) {
    play(p);
    ws->location_advantage = location_advantage;
    ws->action_advantage = action_advantage;
    return agent->loss_sums(*ws);
  };
  c.loss = [=, layout = c.layout, point = c.point](const std::vector<double>& p) {
    const CatchLossSums full = sums_at(p);
    const double location = location_trains_core
                                ? full.reinforce_location
                                : sums_at(only(layout, point, p, {"location."})).reinforce_location;
    const double bl = sums_at(only(layout, point, p, {"baseline."})).baseline;
    return (w.reinforce * (full.reinforce_action + location) + w.entropy * full.entropy +
            w.baseline * bl) *
           scale;
  };
  return c;
}

CatchLossWeights entropy_and_discount() {
  return {.reinforce = 0.7, .baseline = 1.3, .entropy = 0.2, .discount = 0.9};
}

// ---------------------------------------------------------------------------------------------
// The baseline networks: backward(scale = 1/B) against the mean cross-entropy, over about 200
// evenly spread entries of every parameter tensor.

GradientCase baseline_case(const std::string& architecture) {
  const BaselineConfig config{.architecture = architecture,
                              .image_height = 12,
                              .image_width = 10,
                              .classes = 4,
                              .conv_filters = 3,
                              .conv_kernel = 4,
                              .conv_stride = 2};
  auto model = std::make_shared<const BaselineModel<double>>(config);
  const int B = 3;
  GradientCase c;
  c.layout = model->layout();
  c.point.resize(model->parameter_count());
  model->initialize(c.point, 3, 0.3);
  c.samples_per_slot = 200;
  Rng rng(9);
  std::vector<float> images(static_cast<std::size_t>(B) * 120);
  for (float& x : images) x = static_cast<float>(rng.uniform());
  const std::vector<std::uint8_t> labels = {0, 3, 1};
  auto ws = std::make_shared<BaselineWorkspace<double>>();
  auto forward = [=](const std::vector<double>& p) {
    model->forward(p.data(), images.data(), B, LocationMode::sample, nullptr, *ws);
  };
  forward(c.point);
  c.valid = [=, ref = relu_pattern(ws->conv, ws->hidden)](const std::vector<double>& p) {
    forward(p);
    return relu_pattern(ws->conv, ws->hidden) == ref;
  };
  c.analytic.assign(c.point.size(), 0.0);
  model->backward(c.point.data(), labels.data(), {}, 1.0 / B, *ws, c.analytic.data());
  c.loss = [=](const std::vector<double>& p) {
    forward(p);
    return model->loss_sums(labels.data(), *ws).cross_entropy / B;
  };
  return c;
}

const GradientCaseEntry kModelCases[] = {
    {"ram_model",
     [] {
       return classifier_case(small_config(false), {0.7, 0.3}, 101, 3);
     }},
    {"ram_model_reinforce_trains_core",
     [] {
       return classifier_case(small_config(true), {0.7, 0.3}, 101, 3);
     }},
    {"ram_model_reinforce_trains_core_weights_1_1",
     [] {
       return classifier_case(small_config(true), {1.0, 1.0}, 202, 4);
     }},
    {"ram_model_cross_entropy_only",
     [] {
       return classifier_case(small_config(false), {0.0, 0.0}, 303, 2, {"location.", "baseline."});
     }},
    {"ram_model_sigmoid_baseline",
     [] {
       return classifier_case(with_sigmoid_baseline(small_config(true)), {0.7, 0.3}, 101, 3);
     }},
    {"ram_model_lstm_core",
     [] {
       return classifier_case(with_lstm_core(small_config(true)), {0.7, 0.3}, 101, 3);
     }},
    {"ram_model_classifier_at_every_step",
     [] {
       return classifier_case(with_classifier_at_every_step(small_config(false)), {0.7, 0.3}, 101,
                              3);
     }},
    {"ram_model_classifier_at_every_step_reinforce_trains_core",
     [] {
       return classifier_case(with_classifier_at_every_step(with_lstm_core(small_config(true))),
                              {0.7, 0.3}, 101, 3);
     }},
    {"ram_model_random_first_glimpse",
     [] {
       return classifier_case(with_random_first_glimpse(with_lstm_core(small_config(true))),
                              {0.7, 0.3}, 101, 3);
     }},
    {"stopping_classifier_at_stopping_step",
     [] {
       return classifier_case(stopping_config(false, false), {0.7, 0.3}, 404, 5);
     }},
    {"stopping_classifier_at_stopping_step_reinforce_trains_core",
     [] {
       return classifier_case(stopping_config(true, false), {0.7, 0.3}, 404, 5);
     }},
    {"stopping_classifier_at_every_step",
     [] {
       return classifier_case(stopping_config(false, true), {0.7, 0.3}, 404, 5);
     }},
    {"stopping_classifier_at_every_step_reinforce_trains_core",
     [] {
       return classifier_case(stopping_config(true, true), {0.7, 0.3}, 404, 5);
     }},
    {"stopping_sigmoid_baseline",
     [] {
       return classifier_case(with_sigmoid_baseline(stopping_config(true, false)), {0.7, 0.3}, 404,
                              5);
     }},
    {"stopping_random_first_glimpse",
     [] {
       return classifier_case(with_random_first_glimpse(stopping_config(true, false)), {0.7, 0.3},
                              404, 5);
     }},
    {"catch_agent_lstm", [] { return catch_case("lstm", {}, 15); }},
    {"catch_agent_lstm_entropy_and_discount",
     [] { return catch_case("lstm", entropy_and_discount(), 12); }},
    {"catch_agent_lstm_location_trains_core", [] { return catch_case("lstm", {}, 14, true); }},
    {"catch_agent_relu", [] { return catch_case("relu", {}, 16); }},
    {"baseline_fc64", [] { return baseline_case("fc64"); }},
    {"baseline_fc256", [] { return baseline_case("fc256"); }},
    {"baseline_conv", [] { return baseline_case("conv"); }},
};
INSTANTIATE_TEST_SUITE_P(Models, GradientCheck, ::testing::ValuesIn(kModelCases),
                         gradient_case_name);

}  // namespace
}  // namespace ram::test
