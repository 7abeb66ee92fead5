#pragma once
// The fixtures the models' tests share (tests/models/): for the classifier (ram_model_test.cpp and
// its siblings) a small configuration, random parameters, images and draws, and a sampled episode
// with rewards and advantages assigned; for the Catch agent a small configuration, games and
// random parameters.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ram/env/catch_game.h"
#include "ram/models/catch_agent.h"
#include "ram/models/ram_model.h"
#include "ram/nn/parameters.h"
#include "ram/util/error.h"
#include "ram/util/rng.h"

namespace ram::test {

inline ModelConfig small_config(bool reinforce_trains_core = false) {
  ModelConfig c;
  c.image_height = 12;
  c.image_width = 12;
  c.retina.glimpse_size = 4;
  c.retina.scales = 2;
  c.glimpses = 3;
  c.glimpse_hidden = 5;
  c.location_hidden = 6;
  c.glimpse_features = 7;
  c.core_size = 6;
  c.classes = 4;
  c.location_std = 0.3;
  c.reinforce_trains_core = reinforce_trains_core;
  return c;
}

template <typename T>
const ParamSlot& slot_named(const RamModel<T>& model, std::string_view name) {
  for (const ParamSlot& s : model.layout().slots())
    if (s.name == name) return s;
  throw ram::Error("no parameter slot named " + std::string(name));
}

inline bool is_location(const ParamSlot& s) {
  return s.name.starts_with("location.");
}
inline bool is_stop(const ParamSlot& s) {
  return s.name.starts_with("stop.");
}
inline bool is_baseline(const ParamSlot& s) {
  return s.name.starts_with("baseline.");
}

// Every parameter, biases included, uniform in [-range, range].
template <typename T>
std::vector<T> random_params(const RamModel<T>& model, std::uint64_t seed, double range) {
  ram::Rng rng(seed, {1});
  std::vector<T> p(model.parameter_count());
  for (auto& x : p) x = T(rng.uniform(-range, range));
  return p;
}

inline std::vector<float> random_images(const ModelConfig& c, int count, std::uint64_t seed) {
  ram::Rng rng(seed, {2});
  std::vector<float> images(static_cast<std::size_t>(count) * c.image_height * c.image_width);
  for (auto& x : images) x = static_cast<float>(rng.uniform());
  return images;
}

template <typename T>
std::vector<T> normal_draws(const RamModel<T>& model, int count, std::uint64_t seed) {
  ram::Rng rng(seed, {3});
  std::vector<T> d(static_cast<std::size_t>(count) * model.draws_per_image());
  for (auto& x : d) x = T(rng.normal());
  return d;
}

// Raw locations for LocationMode::given: uniform in [-1.4, 1.4], so some are clipped.
template <typename T>
std::vector<T> given_locations(const RamModel<T>& model, int count, std::uint64_t seed) {
  ram::Rng rng(seed, {4});
  std::vector<T> d(static_cast<std::size_t>(count) * model.draws_per_image());
  for (auto& x : d) x = T(rng.uniform(-1.4, 1.4));
  d[0] = T(1.7);  // certainly clipped
  d[3] = T(-1.2);
  return d;
}

// Labels such that image 0 is classified correctly (R = 1) and the others are not (R = 0), so
// both reward values occur.
template <typename T>
std::vector<std::uint8_t> mixed_labels(const Workspace<T>& ws) {
  std::vector<std::uint8_t> labels(static_cast<std::size_t>(ws.rows));
  for (int i = 0; i < ws.rows; ++i) {
    Eigen::Index k;
    ws.probs.row(i).maxCoeff(&k);
    const auto C = ws.probs.cols();
    labels[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(i == 0 ? k : (k + 1) % C);
  }
  return labels;
}

// Replaces the advantages (R - b) with random values of either sign and magnitude 0.2..1, so
// that no REINFORCE term vanishes in a gradient check.
template <typename T>
void randomise_advantages(Workspace<T>& ws, std::uint64_t seed) {
  ram::Rng rng(seed, {5});
  for (Eigen::Index i = 0; i < ws.advantage.size(); ++i) {
    const double magnitude = rng.uniform(0.2, 1.0);
    ws.advantage.data()[i] = rng.uniform() < 0.5 ? -magnitude : magnitude;
  }
}

template <typename T>
std::vector<T> gradient(const RamModel<T>& model, const std::vector<T>& params,
                        const std::vector<std::uint8_t>& labels, const LossWeights& w, T scale,
                        Workspace<T>& ws) {
  std::vector<T> g(model.parameter_count(), T(0));
  model.backward(params.data(), labels.data(), w, scale, ws, g.data());
  return g;
}

template <typename T>
double slot_norm(const RamModel<T>& model, const std::vector<T>& g, std::string_view name) {
  const ParamSlot& s = slot_named(model, name);
  double sq = 0;
  for (std::size_t i = 0; i < s.size(); ++i)
    sq += static_cast<double>(g[s.offset + i]) * static_cast<double>(g[s.offset + i]);
  return std::sqrt(sq);
}

template <typename T>
bool slot_is_zero(const RamModel<T>&, const std::vector<T>& g, const ParamSlot& s) {
  for (std::size_t i = 0; i < s.size(); ++i)
    if (g[s.offset + i] != T(0)) return false;
  return true;
}

// Adaptive stopping (ram_model.h, "Adaptive stopping") on small_config, with 4 glimpses.
inline ModelConfig stopping_config(bool reinforce_trains_core, bool every_step,
                                   double cost = 0.05) {
  ModelConfig c = small_config(reinforce_trains_core);
  c.glimpses = 4;
  c.adaptive_stopping = true;
  c.glimpse_cost = cost;
  c.classifier_at_every_step = every_step;
  return c;
}

// Stop draws for StopMode::given: image i stops after glimpse (i % T) + 1, the last of them at
// T (forced), so early stops, a late stop and the forced stop all occur.
template <typename T>
void give_stops(const RamModel<T>& model, int count, std::vector<T>& draws) {
  const int Tn = model.config().glimpses;
  const auto per_image = static_cast<std::size_t>(model.draws_per_image());
  for (int i = 0; i < count; ++i)
    for (int n = 1; n < Tn; ++n)
      draws[static_cast<std::size_t>(i) * per_image + 2 * static_cast<std::size_t>(Tn) +
            static_cast<std::size_t>(n - 1)] = n == i % Tn + 1 ? T(1) : T(0);
}

// A sampled episode, with rewards assigned and random non-zero advantages; with adaptive
// stopping, the stops are given by give_stops.
struct SampledEpisode {
  explicit SampledEpisode(const ModelConfig& c, std::uint64_t seed = 7, int rows = 5)
      : batch(rows), config(c), model(config) {
    params = random_params(model, seed, 0.6);
    images = random_images(config, batch, seed);
    draws = normal_draws(model, batch, seed);
    StopMode stop_mode = StopMode::sample;
    if (config.adaptive_stopping) {
      give_stops(model, batch, draws);
      stop_mode = StopMode::given;
    }
    model.forward(params.data(), images.data(), batch, LocationMode::sample, draws.data(), ws,
                  stop_mode);
    labels = mixed_labels(ws);
    model.assign_rewards(labels.data(), ws);
    randomise_advantages(ws, seed);
  }
  std::vector<double> grad(const LossWeights& w) {
    return gradient(model, params, labels, w, 1.0 / batch, ws);
  }
  const int batch;
  ModelConfig config;
  RamModel<double> model;
  std::vector<double> params, draws;
  std::vector<float> images;
  std::vector<std::uint8_t> labels;
  Workspace<double> ws;
};

// ---------------------------------------------------------------------------------------------
// The Catch agent (tests/models/catch_agent_test.cpp and the gradient table).

inline constexpr int kCatchGames = 3;

inline CatchAgentConfig small_catch_config(const std::string& core,
                                           bool location_trains_core = false) {
  CatchAgentConfig c;  // the paper's 6x6 retina at 3 scales
  c.glimpse_hidden = 5;
  c.location_hidden = 4;
  c.glimpse_features = 6;
  c.core_size = 5;
  c.core = core;
  c.location_std = 0.3;
  c.location_trains_core = location_trains_core;
  return c;
}

// Three games with the ball in different places, so that the given actions catch some.
inline CatchGames start_catch_games() {
  CatchGames games(kCatchGames);
  games.set(0, 0, 3, 1, 11);
  games.set(1, 0, 20, -1, 11);
  games.set(2, 0, 12, 1, 11);
  return games;
}

// Every parameter, biases included, uniform in [-0.5, 0.5].
inline std::vector<double> random_catch_params(const CatchAgent<double>& agent,
                                               std::uint64_t seed) {
  ram::Rng rng(seed, {1});
  std::vector<double> p(agent.parameter_count());
  for (auto& x : p) x = rng.uniform(-0.5, 0.5);
  return p;
}

}  // namespace ram::test
