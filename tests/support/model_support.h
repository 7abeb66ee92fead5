#pragma once
// The fixtures the classifier's tests share (tests/models/ram_model_test.cpp and its siblings): a
// small configuration, random parameters, images and draws, the finite-difference gradient check
// over every parameter, and a sampled episode with rewards and advantages assigned.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <numbers>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ram/models/ram_model.h"
#include "ram/nn/parameters.h"
#include "ram/nn/retina.h"
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

// ---------------------------------------------------------------------------------------------
// Finite differences of the whole model.

struct SlotError {
  std::string name;
  double worst = 0;  // relative error, floored (see below)
  std::size_t index = 0;
  double analytic = 0, numeric = 0;
};

// Fourth-order central differences, (f(-2h) - 8 f(-h) + 8 f(h) - f(2h)) / 12h: truncation error
// O(h^4), so h can be large enough for the round-off of a loss of order 10-50 (the REINFORCE
// term with raw samples far from the mean) to stay near 1e-10. Every evaluation is checked for
// ReLU kinks (relu_pattern), so a larger h cannot silently straddle one. (A two-point difference
// with h = 1e-6 left errors of ~1e-9, i.e. 1.4e-5 relative, on gradients of ~5e-5.)
inline constexpr double kStep = 1e-4;

// |a - n| / max(|a|, |n|, floor): near-zero gradients (dead units, a weight from a zero input)
// are judged by their absolute error against the floor.
inline double relative_error(double a, double n) {
  return std::abs(a - n) / std::max({std::abs(a), std::abs(n), 1e-5});
}

// Activation pattern of every ReLU in the episode: a finite difference that flips one of these
// straddles a kink and is meaningless.
inline std::vector<bool> relu_pattern(const Workspace<double>& ws) {
  std::vector<bool> p;
  auto add = [&](const ram::Mat<double>& m) {
    for (Eigen::Index i = 0; i < m.size(); ++i) p.push_back(m.data()[i] > 0);
  };
  for (const auto& m : ws.hidden_glimpse) add(m);
  for (const auto& m : ws.hidden_location) add(m);
  for (const auto& m : ws.feature) add(m);
  for (const auto& m : ws.state) add(m);
  return p;
}

struct GradientCheck {
  std::vector<SlotError> slots;
  int kinks = 0;  // finite differences that crossed a ReLU kink (must be 0 for a valid check)
};

// Compares backward(scale = 1/B) with central differences of the loss backward differentiates,
//   (CE + w_rf RF + w_bl BL) / B,
// with the detached quantities held at their values for the unperturbed parameters:
//   - the reward R and the advantage R - b_t (copied from the reference forward);
//   - the state h_t seen by the baseline (BL is evaluated with only the baseline.* slots taken
//     from the perturbed parameters);
//   - when reinforce_trains_core is false, the state h_t seen by the location and stop nets (RF
//     is evaluated with only the location.* and stop.* slots taken from the perturbed
//     parameters).
// The locations and (with adaptive stopping) the stop decisions are given (LocationMode::given,
// StopMode::given), hence fixed inputs.
GradientCheck check_model_gradient(const ModelConfig& config, const LossWeights& w,
                                   std::uint64_t seed, int batch) {
  const RamModel<double> model(config);
  const std::vector<double> ref = random_params(model, seed, 0.6);
  const std::vector<float> images = random_images(config, batch, seed);
  const std::vector<double> draws = given_locations(model, batch, seed);

  Workspace<double> ref_ws;
  model.forward(ref.data(), images.data(), batch, LocationMode::given, draws.data(), ref_ws,
                ram::StopMode::given);
  const std::vector<std::uint8_t> labels = mixed_labels(ref_ws);
  model.assign_rewards(labels.data(), ref_ws);
  const std::vector<bool> ref_pattern = relu_pattern(ref_ws);
  const double scale = 1.0 / batch;
  const std::vector<double> analytic = gradient(model, ref, labels, w, scale, ref_ws);

  std::vector<ParamSlot> baseline_slots, location_slots;
  for (const ParamSlot& s : model.layout().slots()) {
    if (is_baseline(s)) baseline_slots.push_back(s);
    if (is_location(s) || is_stop(s)) location_slots.push_back(s);
  }
  // ref with the given slots taken from p.
  auto mixed = [&](const std::vector<double>& p, const std::vector<ParamSlot>& slots) {
    std::vector<double> m = ref;
    for (const ParamSlot& s : slots)
      std::copy_n(p.begin() + static_cast<std::ptrdiff_t>(s.offset), s.size(),
                  m.begin() + static_cast<std::ptrdiff_t>(s.offset));
    return m;
  };
  Workspace<double> ws;
  auto sums_at = [&](const std::vector<double>& p) {
    model.forward(p.data(), images.data(), batch, LocationMode::given, draws.data(), ws,
                  ram::StopMode::given);
    ws.reward = ref_ws.reward;
    ws.advantage = ref_ws.advantage;
    return model.loss_sums(labels.data(), ws);
  };
  GradientCheck result;
  auto loss = [&](const std::vector<double>& p) {
    const double ce = sums_at(p).cross_entropy;
    if (relu_pattern(ws) != ref_pattern) ++result.kinks;
    const double rf =
        sums_at(config.reinforce_trains_core ? p : mixed(p, location_slots)).reinforce;
    const double bl = sums_at(mixed(p, baseline_slots)).baseline;
    return (ce + w.reinforce * rf + w.baseline * bl) / batch;
  };

  std::vector<double> p = ref;
  auto at = [&](std::size_t i, double delta) {
    p[i] = ref[i] + delta;
    const double v = loss(p);
    p[i] = ref[i];
    return v;
  };
  for (const ParamSlot& s : model.layout().slots()) {
    SlotError e{s.name};
    for (std::size_t i = s.offset; i < s.offset + s.size(); ++i) {
      // Differences first, so that a parameter without effect gives exactly 0.
      const double near = at(i, kStep) - at(i, -kStep);
      const double far = at(i, 2 * kStep) - at(i, -2 * kStep);
      const double numeric = (8 * near - far) / (12 * kStep);
      const double rel = relative_error(analytic[i], numeric);
      if (rel >= e.worst) e = {s.name, rel, i - s.offset, analytic[i], numeric};
    }
    result.slots.push_back(e);
  }
  return result;
}

void expect_gradient_matches(const ModelConfig& config, const LossWeights& w, std::uint64_t seed,
                             int batch, const std::string& label) {
  const GradientCheck check = check_model_gradient(config, w, seed, batch);
  EXPECT_EQ(check.kinks, 0) << label
                            << ": finite differences crossed a ReLU kink; pick another seed";
  std::printf("%s\n", label.c_str());
  for (const SlotError& e : check.slots) {
    std::printf("  %-28s worst relative error %.2e\n", e.name.c_str(), e.worst);
    EXPECT_LT(e.worst, 1e-5) << label << ": slot " << e.name << " element " << e.index
                             << ": analytic " << e.analytic << ", numeric " << e.numeric;
  }
}

// A sampled episode over 5 images, with rewards assigned and random non-zero advantages.
struct SampledEpisode {
  explicit SampledEpisode(bool trains_core, std::uint64_t seed = 7)
      : config(small_config(trains_core)), model(config) {
    params = random_params(model, seed, 0.6);
    images = random_images(config, batch, seed);
    draws = normal_draws(model, batch, seed);
    model.forward(params.data(), images.data(), batch, LocationMode::sample, draws.data(), ws);
    labels = mixed_labels(ws);
    model.assign_rewards(labels.data(), ws);
    randomise_advantages(ws, seed);
  }
  std::vector<double> grad(const LossWeights& w) {
    return gradient(model, params, labels, w, 1.0 / batch, ws);
  }
  const int batch = 5;
  ModelConfig config;
  RamModel<double> model;
  std::vector<double> params, draws;
  std::vector<float> images;
  std::vector<std::uint8_t> labels;
  Workspace<double> ws;
};

}  // namespace ram::test
