// The whole model: backward against central differences for every parameter, and the policy
// gradient's known pitfalls, which broke other implementations (sampled locations are data, log pi
// at the raw sample, detached baseline, no location after the last glimpse, the location net
// trained by REINFORCE only), plus float/double agreement and independence from batch composition.
#include "ram/models/ram_model.h"

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

#include "ram/nn/parameters.h"
#include "ram/nn/retina.h"
#include "ram/util/error.h"
#include "ram/util/rng.h"

namespace {

using ram::LocationMode;
using ram::LossWeights;
using ram::ModelConfig;
using ram::ParamSlot;
using ram::RamModel;
using ram::Workspace;

ModelConfig small_config(bool reinforce_trains_core = false) {
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

bool is_location(const ParamSlot& s) {
  return s.name.starts_with("location.");
}
bool is_stop(const ParamSlot& s) {
  return s.name.starts_with("stop.");
}
bool is_baseline(const ParamSlot& s) {
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

std::vector<float> random_images(const ModelConfig& c, int count, std::uint64_t seed) {
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
constexpr double kStep = 1e-4;

// |a - n| / max(|a|, |n|, floor): near-zero gradients (dead units, a weight from a zero input)
// are judged by their absolute error against the floor.
double relative_error(double a, double n) {
  return std::abs(a - n) / std::max({std::abs(a), std::abs(n), 1e-5});
}

// Activation pattern of every ReLU in the episode: a finite difference that flips one of these
// straddles a kink and is meaningless.
std::vector<bool> relu_pattern(const Workspace<double>& ws) {
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

TEST(ModelGradient, MatchesFiniteDifferencesReinforceTrainsLocationOnly) {
  expect_gradient_matches(small_config(false), {0.7, 0.3}, 101, 3,
                          "reinforce_trains_core=false, weights {0.7, 0.3}");
}

TEST(ModelGradient, MatchesFiniteDifferencesReinforceTrainsCore) {
  expect_gradient_matches(small_config(true), {0.7, 0.3}, 101, 3,
                          "reinforce_trains_core=true, weights {0.7, 0.3}");
}

TEST(ModelGradient, MatchesFiniteDifferencesOtherWeightsAndSeed) {
  expect_gradient_matches(small_config(true), {1.0, 1.0}, 202, 4,
                          "reinforce_trains_core=true, weights {1, 1}, seed 202");
  expect_gradient_matches(small_config(false), {0.0, 0.0}, 303, 2, "cross-entropy only, seed 303");
}

TEST(ModelGradient, MatchesFiniteDifferencesWithTheSigmoidBaselineAndTheLstmCore) {
  ModelConfig sigmoid = small_config(true);
  sigmoid.reward_baseline = "sigmoid";
  expect_gradient_matches(sigmoid, {0.7, 0.3}, 101, 3, "sigmoid reward baseline");
  ModelConfig lstm = small_config(true);
  lstm.core = "lstm";
  expect_gradient_matches(lstm, {0.7, 0.3}, 101, 3, "LSTM core, reinforce_trains_core");
}

// The sigmoid baseline stays inside the reward's range, whatever its input: [0, 1], or
// [-c T, 1] with adaptive stopping, and the linear one does not.
TEST(ModelTerms, SigmoidBaselineIsBoundedToTheRewardsRange) {
  for (bool stopping : {false, true}) {
    SCOPED_TRACE(stopping ? "adaptive stopping" : "fixed length");
    ModelConfig config = small_config();
    if (stopping) {
      config.adaptive_stopping = true;
      config.glimpse_cost = 0.1;
    }
    const double lo = stopping ? -0.1 * config.glimpses : 0.0;
    for (const char* kind : {"linear", "sigmoid"}) {
      config.reward_baseline = kind;
      const RamModel<double> model(config);
      const int B = 6;
      const auto params = random_params(model, 21, 4.0);  // large weights: large |h W_base|
      const auto images = random_images(config, B, 21);
      const auto draws = normal_draws(model, B, 21);
      Workspace<double> ws;
      model.forward(params.data(), images.data(), B, LocationMode::sample, draws.data(), ws);
      const bool inside = ws.baseline.minCoeff() >= lo && ws.baseline.maxCoeff() <= 1.0;
      EXPECT_EQ(inside, std::string(kind) == "sigmoid")
          << kind << ": baselines in [" << ws.baseline.minCoeff() << ", " << ws.baseline.maxCoeff()
          << "]";
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Which loss term reaches which parameters.

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

TEST(ModelTerms, LocationNetGetsNoCrossEntropyGradientButAReinforceGradient) {
  for (bool trains_core : {false, true}) {
    SCOPED_TRACE(trains_core ? "reinforce_trains_core" : "reinforce trains location only");
    SampledEpisode e(trains_core);
    const auto ce_only = e.grad({0.0, 0.0});
    EXPECT_TRUE(slot_is_zero(e.model, ce_only, slot_named(e.model, "location.weight")));
    EXPECT_TRUE(slot_is_zero(e.model, ce_only, slot_named(e.model, "location.bias")));
    EXPECT_GT(slot_norm(e.model, ce_only, "action.weight"), 1e-3);
    EXPECT_GT(slot_norm(e.model, ce_only, "core.input.weight"), 1e-6);

    const auto with_rf = e.grad({1.0, 0.0});
    EXPECT_GT(slot_norm(e.model, with_rf, "location.weight"), 1e-3);
    EXPECT_GT(slot_norm(e.model, with_rf, "location.bias"), 1e-3);
  }
}

TEST(ModelTerms, LocationGradientIsReinforceOverSampledLocationsOnly) {
  // By hand: d(scale * w * RF)/dW_loc = scale * w * sum_{t < T} h_t^T dmu_t with
  // dmu_t = -(l_t - mu_t) / std^2 * (R - b_t) * (1 - mu_t^2), l_t the raw sample. There are
  // exactly T sampled locations; h_T (after the last glimpse) never produces one.
  SampledEpisode e(false);
  const double w = 0.7, scale = 1.0 / e.batch, var = e.config.location_std * e.config.location_std;
  const auto g = e.grad({w, 0.0});
  const int T = e.config.glimpses, H = e.config.core_size;
  ASSERT_EQ(e.ws.sample.size(), static_cast<std::size_t>(T));
  ASSERT_EQ(e.ws.mean.size(), static_cast<std::size_t>(T));
  ASSERT_EQ(e.ws.state.size(), static_cast<std::size_t>(T + 1));
  ram::Mat<double> dW = ram::Mat<double>::Zero(H, 2), db = ram::Mat<double>::Zero(1, 2);
  double rf = 0;
  for (int t = 0; t < T; ++t) {
    for (int i = 0; i < e.batch; ++i) {
      double sq = 0;
      for (int k = 0; k < 2; ++k) {
        const double mu = e.ws.mean[t](i, k), l = e.ws.sample[t](i, k);
        sq += (l - mu) * (l - mu);
        const double dmu = -(l - mu) / var * e.ws.advantage(i, t) * (1 - mu * mu) * w * scale;
        db(0, k) += dmu;
        for (int j = 0; j < H; ++j) dW(j, k) += e.ws.state[t](i, j) * dmu;
      }
      const double log_pi = -sq / (2 * var) - std::log(2 * std::numbers::pi * var);
      rf -= log_pi * e.ws.advantage(i, t);
    }
  }
  const ParamSlot& sw = slot_named(e.model, "location.weight");
  const ParamSlot& sb = slot_named(e.model, "location.bias");
  for (int j = 0; j < H; ++j)
    for (int k = 0; k < 2; ++k)
      EXPECT_NEAR(g[sw.offset + static_cast<std::size_t>(j * 2 + k)], dW(j, k), 1e-12);
  for (int k = 0; k < 2; ++k)
    EXPECT_NEAR(g[sb.offset + static_cast<std::size_t>(k)], db(0, k), 1e-12);
  EXPECT_NEAR(e.model.loss_sums(e.labels.data(), e.ws).reinforce, rf, 1e-9);
}

TEST(ModelTerms, BaselineIsTrainedOnlyByItsOwnSquaredError) {
  for (bool trains_core : {false, true}) {
    SCOPED_TRACE(trains_core ? "reinforce_trains_core" : "reinforce trains location only");
    SampledEpisode e(trains_core);
    const ParamSlot& bw = slot_named(e.model, "baseline.weight");
    const ParamSlot& bb = slot_named(e.model, "baseline.bias");
    const auto no_baseline = e.grad({0.7, 0.0});
    EXPECT_TRUE(slot_is_zero(e.model, no_baseline, bw));
    EXPECT_TRUE(slot_is_zero(e.model, no_baseline, bb));

    // Analytic: scale * w * 2 * sum_t (b_t - R) h_t, with h_t the state the baseline read.
    for (double w : {1.0, 0.3}) {
      const auto g = e.grad({0.0, w});
      const double scale = 1.0 / e.batch;
      const int H = e.config.core_size;
      std::vector<double> expect_w(static_cast<std::size_t>(H), 0.0);
      double expect_b = 0;
      for (int t = 0; t < e.config.glimpses; ++t)
        for (int i = 0; i < e.batch; ++i) {
          const double d = scale * w * 2 * (e.ws.baseline(i, t) - e.ws.reward(i, 0));
          expect_b += d;
          for (int j = 0; j < H; ++j)
            expect_w[static_cast<std::size_t>(j)] += d * e.ws.state[t](i, j);
        }
      for (int j = 0; j < H; ++j)
        EXPECT_NEAR(g[bw.offset + static_cast<std::size_t>(j)],
                    expect_w[static_cast<std::size_t>(j)], 1e-12);
      EXPECT_NEAR(g[bb.offset], expect_b, 1e-12);
      EXPECT_GT(std::abs(expect_b), 1e-3);
    }

    // The baseline term reaches the baseline only.
    const auto base = e.grad({0.0, 0.0});
    const auto with_bl = e.grad({0.0, 1.0});
    for (const ParamSlot& s : e.model.layout().slots()) {
      bool same = true;
      for (std::size_t i = s.offset; i < s.offset + s.size(); ++i)
        same = same && with_bl[i] == base[i];
      EXPECT_EQ(same, !is_baseline(s)) << s.name;
    }
  }
}

TEST(ModelTerms, ReinforceReachesOnlyTheLocationNetUnlessItTrainsTheCore) {
  for (bool trains_core : {false, true}) {
    SCOPED_TRACE(trains_core ? "reinforce_trains_core" : "reinforce trains location only");
    SampledEpisode e(trains_core);
    const auto base = e.grad({0.0, 0.0});
    const auto with_rf = e.grad({0.7, 0.0});
    for (const ParamSlot& s : e.model.layout().slots()) {
      double diff = 0;
      for (std::size_t i = s.offset; i < s.offset + s.size(); ++i)
        diff = std::max(diff, std::abs(with_rf[i] - base[i]));
      if (is_location(s)) {
        EXPECT_GT(diff, 1e-4) << s.name;
      } else if (!trains_core || is_baseline(s) || s.name.starts_with("action.")) {
        EXPECT_EQ(diff, 0.0) << s.name;  // exactly: the term adds nothing there
      } else {
        // core.* and glimpse.*: reached through mu_{t+1} = tanh(h_{t+1} W_loc + b_loc).
        EXPECT_GT(diff, 1e-6) << s.name;
      }
    }
  }
}

TEST(ModelTerms, NoReinforceTermForUniformOrMeanLocations) {
  for (LocationMode mode : {LocationMode::uniform, LocationMode::mean}) {
    SCOPED_TRACE(mode == LocationMode::uniform ? "uniform" : "mean");
    const ModelConfig config = small_config(true);
    const RamModel<double> model(config);
    const int B = 4;
    const auto params = random_params(model, 9, 0.6);
    const auto images = random_images(config, B, 9);
    ram::Rng rng(9, {6});
    std::vector<double> draws(static_cast<std::size_t>(B) * model.draws_per_image());
    for (auto& d : draws) d = rng.uniform(-1, 1);
    Workspace<double> ws;
    model.forward(params.data(), images.data(), B, mode, draws.data(), ws);
    const auto labels = mixed_labels(ws);
    model.assign_rewards(labels.data(), ws);
    for (Eigen::Index i = 0; i < ws.advantage.size(); ++i) ws.advantage.data()[i] = 0.5;
    EXPECT_EQ(model.loss_sums(labels.data(), ws).reinforce, 0.0);
    const auto base = gradient(model, params, labels, {0.0, 0.0}, 0.25, ws);
    const auto with_rf = gradient(model, params, labels, {1.0, 0.0}, 0.25, ws);
    EXPECT_EQ(base, with_rf);
    EXPECT_TRUE(slot_is_zero(model, with_rf, slot_named(model, "location.weight")));
    EXPECT_TRUE(slot_is_zero(model, with_rf, slot_named(model, "location.bias")));
    if (mode == LocationMode::uniform) {
      for (int t = 0; t < config.glimpses; ++t)
        for (int i = 0; i < B; ++i)
          for (int k = 0; k < 2; ++k)
            EXPECT_EQ(ws.sample[t](i, k),
                      draws[static_cast<std::size_t>((i * config.glimpses + t) * 2 + k)]);
    } else {
      for (int t = 0; t < config.glimpses; ++t) EXPECT_EQ(ws.sample[t], ws.mean[t]);
    }
  }
}

// The diagnostics of LossSums, recomputed from the workspace: ||h_t||_1 after each glimpse, the
// largest |R - b_t|, and the policy means near the edge (large weights saturate the tanh).
TEST(ModelTerms, DiagnosticsDescribeTheEpisode) {
  const ModelConfig config = small_config();
  const RamModel<double> model(config);
  const int B = 5;
  const auto params = random_params(model, 12, 1.5);
  const auto images = random_images(config, B, 12);
  const auto draws = normal_draws(model, B, 12);
  Workspace<double> ws;
  model.forward(params.data(), images.data(), B, LocationMode::sample, draws.data(), ws);
  const auto labels = mixed_labels(ws);
  model.assign_rewards(labels.data(), ws);
  double l1_sum = 0, l1_max = 0, advantage_max = 0, saturated = 0;
  for (int i = 0; i < B; ++i) {
    for (int t = 1; t <= config.glimpses; ++t) {
      const double l1 = ws.state[t].row(i).cwiseAbs().sum();
      l1_sum += l1;
      l1_max = std::max(l1_max, l1);
    }
    for (int t = 0; t < config.glimpses; ++t) {
      advantage_max = std::max(advantage_max, std::abs(ws.reward(i, 0) - ws.baseline(i, t)));
      for (int d = 0; d < 2; ++d) saturated += std::abs(ws.mean[t](i, d)) > 0.9 ? 1 : 0;
    }
  }
  const ram::LossSums sums = model.loss_sums(labels.data(), ws);
  EXPECT_NEAR(sums.state_l1, l1_sum, 1e-9 * l1_sum);
  EXPECT_NEAR(sums.state_l1_max, l1_max, 1e-9 * l1_max);
  EXPECT_GT(l1_max, l1_sum / (B * config.glimpses));  // the states differ
  EXPECT_EQ(sums.advantage_max, advantage_max);
  EXPECT_EQ(sums.saturated_means, saturated);
  EXPECT_EQ(sums.policy_means, 2.0 * B * config.glimpses);
  EXPECT_GT(saturated, 0.0);
  EXPECT_LT(saturated, sums.policy_means);

  // Summing two halves keeps the maxima and adds the counts.
  ram::LossSums halves = model.loss_sums(labels.data(), ws);
  halves += ram::LossSums{};
  EXPECT_EQ(halves.state_l1_max, sums.state_l1_max);
  halves += sums;
  EXPECT_EQ(halves.state_l1_max, sums.state_l1_max);
  EXPECT_EQ(halves.policy_means, 2 * sums.policy_means);
}

// ---------------------------------------------------------------------------------------------
// Episode structure.

TEST(ModelEpisode, DrawsCoverExactlyTheSampledLocations) {
  const ModelConfig config = small_config();
  const RamModel<double> model(config);
  EXPECT_EQ(model.draws_per_image(), config.glimpses * 2);
  const int B = 3, T = config.glimpses;
  const auto params = random_params(model, 4, 0.6);
  const auto images = random_images(config, B, 4);
  // draws laid out image-major, then time, then (x, y)
  std::vector<double> draws(static_cast<std::size_t>(B * T * 2));
  for (std::size_t n = 0; n < draws.size(); ++n) draws[n] = -0.9 + 0.05 * static_cast<double>(n);
  Workspace<double> ws;
  model.forward(params.data(), images.data(), B, LocationMode::given, draws.data(), ws);
  ASSERT_EQ(ws.sample.size(), static_cast<std::size_t>(T));
  for (int i = 0; i < B; ++i)
    for (int t = 0; t < T; ++t)
      for (int k = 0; k < 2; ++k)
        EXPECT_EQ(ws.sample[t](i, k), draws[static_cast<std::size_t>((i * T + t) * 2 + k)]);
  EXPECT_EQ(ws.baseline.cols(), T);
  EXPECT_EQ(ws.state.size(), static_cast<std::size_t>(T + 1));
}

TEST(ModelEpisode, FirstPolicyDependsOnlyOnTheLocationBias) {
  const ModelConfig config = small_config();
  const RamModel<double> model(config);
  const int B = 4;
  auto params = random_params(model, 5, 0.6);
  const ParamSlot& lb = slot_named(model, "location.bias");
  const ParamSlot& bb = slot_named(model, "baseline.bias");
  const double mu0[2] = {std::tanh(params[lb.offset]), std::tanh(params[lb.offset + 1])};
  for (int variant = 0; variant < 2; ++variant) {
    // Different images, draws and every parameter except location.bias and baseline.bias.
    auto p = random_params(model, 50 + static_cast<std::uint64_t>(variant), 0.6);
    p[lb.offset] = params[lb.offset];
    p[lb.offset + 1] = params[lb.offset + 1];
    p[bb.offset] = params[bb.offset];
    const auto images = random_images(config, B, 60 + static_cast<std::uint64_t>(variant));
    const auto draws = normal_draws(model, B, 70 + static_cast<std::uint64_t>(variant));
    Workspace<double> ws;
    model.forward(p.data(), images.data(), B, LocationMode::sample, draws.data(), ws);
    EXPECT_TRUE(ws.state[0].isZero(0.0));
    for (int i = 0; i < B; ++i) {
      EXPECT_EQ(ws.mean[0](i, 0), mu0[0]);
      EXPECT_EQ(ws.mean[0](i, 1), mu0[1]);
      EXPECT_EQ(ws.baseline(i, 0), params[bb.offset]);
    }
    EXPECT_NE(ws.mean[1](0, 0), mu0[0]);  // later steps do depend on the state
  }
}

TEST(ModelEpisode, ClippedLocationFeedsTheGlimpseButLogPiUsesTheRawSample) {
  ModelConfig config = small_config();
  config.glimpses = 1;
  const RamModel<double> model(config);
  const auto params = random_params(model, 6, 0.6);
  const auto image = random_images(config, 1, 6);
  const ParamSlot& lb = slot_named(model, "location.bias");
  const ParamSlot& bb = slot_named(model, "baseline.bias");
  const double sd = config.location_std, var = sd * sd;
  const double mu[2] = {std::tanh(params[lb.offset]), std::tanh(params[lb.offset + 1])};

  for (LocationMode mode : {LocationMode::given, LocationMode::sample}) {
    SCOPED_TRACE(mode == LocationMode::given ? "given" : "sample");
    const double raw[2] = {1.7, -0.4};
    std::vector<double> draws = {raw[0], raw[1]};
    if (mode == LocationMode::sample) draws = {(raw[0] - mu[0]) / sd, (raw[1] - mu[1]) / sd};
    Workspace<double> ws;
    model.forward(params.data(), image.data(), 1, mode, draws.data(), ws);
    EXPECT_NEAR(ws.sample[0](0, 0), 1.7, 1e-14);
    EXPECT_NEAR(ws.sample[0](0, 1), -0.4, 1e-14);
    EXPECT_EQ(ws.location[0](0, 0), 1.0);
    EXPECT_EQ(ws.location[0](0, 1), ws.sample[0](0, 1));
    // The retina saw the clipped location.
    std::vector<double> expected(static_cast<std::size_t>(config.retina.output_size()));
    ram::retina_extract(config.retina, image.data(), config.image_height, config.image_width, 1.0,
                        ws.sample[0](0, 1), expected.data());
    for (std::size_t n = 0; n < expected.size(); ++n)
      EXPECT_EQ(ws.glimpse[0](0, static_cast<Eigen::Index>(n)), expected[n]);

    const std::uint8_t label = 2;
    model.assign_rewards(&label, ws);
    const double R = ws.reward(0, 0), b = params[bb.offset];
    EXPECT_EQ(ws.advantage(0, 0), R - b);
    const double d0 = 1.7 - mu[0], d1 = -0.4 - mu[1];
    const double log_pi =
        -(d0 * d0 + d1 * d1) / (2 * var) - 2 * std::log(sd) - std::log(2 * std::numbers::pi);
    const auto sums = model.loss_sums(&label, ws);
    EXPECT_NEAR(sums.reinforce, -log_pi * (R - b), 1e-12);
    EXPECT_NEAR(sums.baseline, (b - R) * (b - R), 1e-15);

    // And REINFORCE's gradient to the location bias uses 1.7 too.
    const auto g = gradient(model, params, {label}, {1.0, 0.0}, 1.0, ws);
    EXPECT_NEAR(g[lb.offset], -d0 / var * (R - b) * (1 - mu[0] * mu[0]), 1e-12);
    EXPECT_NEAR(g[lb.offset + 1], -d1 / var * (R - b) * (1 - mu[1] * mu[1]), 1e-12);
  }
}

// ---------------------------------------------------------------------------------------------
// Precision and batching.

TEST(ModelNumerics, FloatAndDoubleAgree) {
  const ModelConfig config = small_config(true);
  const RamModel<float> mf(config);
  const RamModel<double> md(config);
  const int B = 5;
  const auto pf = random_params(mf, 8, 0.6);
  const std::vector<double> pd(pf.begin(), pf.end());
  const auto images = random_images(config, B, 8);
  const auto df = normal_draws(mf, B, 8);
  const std::vector<double> dd(df.begin(), df.end());
  Workspace<float> wf;
  Workspace<double> wd;
  mf.forward(pf.data(), images.data(), B, LocationMode::sample, df.data(), wf);
  md.forward(pd.data(), images.data(), B, LocationMode::sample, dd.data(), wd);
  for (Eigen::Index i = 0; i < wd.probs.size(); ++i)
    EXPECT_NEAR(wf.probs.data()[i], wd.probs.data()[i], 2e-6);
  for (Eigen::Index i = 0; i < wd.baseline.size(); ++i)
    EXPECT_NEAR(wf.baseline.data()[i], wd.baseline.data()[i], 2e-6);
  const auto labels = mixed_labels(wd);
  mf.assign_rewards(labels.data(), wf);
  md.assign_rewards(labels.data(), wd);
  ASSERT_EQ(wf.reward.cast<double>(), wd.reward);
  const auto sf = mf.loss_sums(labels.data(), wf), sd = md.loss_sums(labels.data(), wd);
  EXPECT_NEAR(sf.cross_entropy, sd.cross_entropy, 1e-5);
  EXPECT_NEAR(sf.reinforce, sd.reinforce, 1e-4);
  EXPECT_NEAR(sf.baseline, sd.baseline, 1e-5);
  const LossWeights w{0.7, 0.3};
  const auto gf = gradient(mf, pf, labels, w, 1.0f / B, wf);
  const auto gd = gradient(md, pd, labels, w, 1.0 / B, wd);
  double worst = 0;
  for (std::size_t i = 0; i < gd.size(); ++i)
    worst = std::max(
        worst, std::abs(static_cast<double>(gf[i]) - gd[i]) / std::max(std::abs(gd[i]), 1e-2));
  EXPECT_LT(worst, 1e-4);
}

TEST(ModelNumerics, ForwardIsIndependentOfBatchComposition) {
  const ModelConfig config = small_config();
  const RamModel<float> model(config);
  const int B = 7, T = config.glimpses;
  const auto params = random_params(model, 10, 0.6);
  const auto images = random_images(config, B, 10);
  const auto draws = normal_draws(model, B, 10);
  Workspace<float> all;
  model.forward(params.data(), images.data(), B, LocationMode::sample, draws.data(), all);
  const auto labels = mixed_labels(all);
  model.assign_rewards(labels.data(), all);
  std::vector<float> g_all(model.parameter_count(), 0.0f), g_sum(model.parameter_count(), 0.0f);
  model.backward(params.data(), labels.data(), {0.7, 0.3}, 1.0f, all, g_all.data());

  const std::size_t image_size = static_cast<std::size_t>(config.image_height * config.image_width);
  for (int i = 0; i < B; ++i) {
    Workspace<float> one;
    model.forward(params.data(), images.data() + static_cast<std::size_t>(i) * image_size, 1,
                  LocationMode::sample, draws.data() + static_cast<std::size_t>(i * T * 2), one);
    for (int c = 0; c < config.classes; ++c) EXPECT_NEAR(one.probs(0, c), all.probs(i, c), 1e-6);
    for (int t = 0; t < T; ++t) {
      EXPECT_NEAR(one.sample[t](0, 0), all.sample[t](i, 0), 1e-6);
      EXPECT_NEAR(one.sample[t](0, 1), all.sample[t](i, 1), 1e-6);
    }
    model.assign_rewards(&labels[static_cast<std::size_t>(i)], one);
    model.backward(params.data(), &labels[static_cast<std::size_t>(i)], {0.7, 0.3}, 1.0f, one,
                   g_sum.data());
  }
  // Gradients of slices add up to the gradient of the batch.
  for (std::size_t n = 0; n < g_all.size(); ++n)
    EXPECT_NEAR(g_sum[n], g_all[n], 1e-4f * std::max(1.0f, std::abs(g_all[n])));
}

// The same binary must compute the same sums in the same order wherever its buffers sit: Eigen
// peels a number of scalar iterations that depends on a buffer's address and the machine's
// vector width, and a sum whose order followed that would differ between two runs (or two
// calls) whose buffers malloc happened to place differently. Parameters, gradients, images and
// draws are placed at every float offset within a 64-byte line; forward and backward results
// must be bit-identical.
TEST(ModelNumerics, ResultsDoNotDependOnWhereTheBuffersSit) {
  for (const char* core : {"relu", "lstm"})
    for (bool trains_core : {false, true}) {
      SCOPED_TRACE(std::string(core) + (trains_core ? ", reinforce_trains_core" : ""));
      ModelConfig config = small_config(trains_core);
      config.core = core;
      config.core_size = 37;  // long enough rows for a vector body and a scalar tail
      config.glimpse_features = 29;
      const RamModel<float> model(config);
      const int B = 5;
      const auto params = random_params(model, 11, 0.6);
      const auto images = random_images(config, B, 11);
      const auto draws = normal_draws(model, B, 11);
      constexpr std::size_t kLine = 16;  // floats in 64 bytes, the widest vector there is
      auto shifted = [](const auto& values, std::size_t offset) {
        ram::AlignedVector<float> buffer(values.size() + kLine, 0.0f);
        std::copy(values.begin(), values.end(),
                  buffer.begin() + static_cast<std::ptrdiff_t>(offset));
        return buffer;
      };
      std::vector<float> first_probs, first_grads;
      for (std::size_t offset = 0; offset < kLine; ++offset) {
        SCOPED_TRACE("offset " + std::to_string(offset));
        const auto p = shifted(params, offset), im = shifted(images, offset),
                   d = shifted(draws, offset);
        ram::AlignedVector<float> g(params.size() + kLine, 0.0f);
        Workspace<float> ws;
        model.forward(p.data() + offset, im.data() + offset, B, LocationMode::sample,
                      d.data() + offset, ws);
        const auto labels = mixed_labels(ws);
        model.assign_rewards(labels.data(), ws);
        model.backward(p.data() + offset, labels.data(), {0.7, 0.3}, 0.2f, ws, g.data() + offset);
        const std::vector<float> probs(ws.probs.data(), ws.probs.data() + ws.probs.size());
        const std::vector<float> grads(
            g.begin() + static_cast<std::ptrdiff_t>(offset),
            g.begin() + static_cast<std::ptrdiff_t>(offset + params.size()));
        if (offset == 0) {
          first_probs = probs;
          first_grads = grads;
          continue;
        }
        EXPECT_EQ(probs, first_probs);
        for (const ParamSlot& s : model.layout().slots()) {
          bool same = true;
          for (std::size_t i = s.offset; i < s.offset + s.size(); ++i)
            same = same && std::bit_cast<std::uint32_t>(grads[i]) ==
                               std::bit_cast<std::uint32_t>(first_grads[i]);
          EXPECT_TRUE(same) << s.name;
        }
      }
    }
}

TEST(ModelConfigJson, RoundTripAndValidation) {
  const ModelConfig c = small_config(true);
  const ModelConfig back = ram::model_config_from_json(ram::to_json(c));
  EXPECT_EQ(ram::to_json(back), ram::to_json(c));
  ModelConfig bad = c;
  bad.location_std = 0;
  EXPECT_THROW(RamModel<float>{bad}, ram::Error);
  bad = c;
  bad.classes = 1;
  EXPECT_THROW(RamModel<float>{bad}, ram::Error);
  bad = c;
  bad.core = "lstm2";
  EXPECT_THROW(RamModel<float>{bad}, ram::Error);
  bad = c;
  bad.reward_baseline = "constant";
  EXPECT_THROW(RamModel<float>{bad}, ram::Error);
  ModelConfig sigmoid = c;
  sigmoid.reward_baseline = "sigmoid";
  EXPECT_EQ(ram::model_config_from_json(ram::to_json(sigmoid)).reward_baseline, "sigmoid");
  EXPECT_FALSE(ram::to_json(c).contains("reward_baseline"));  // the default reads as before
  auto j = ram::to_json(c);
  j.erase("glimpses");
  EXPECT_THROW(ram::model_config_from_json(j), ram::Error);
}

// ---------------------------------------------------------------------------------------------
// Adaptive stopping (model.h, "Adaptive stopping").

ModelConfig stopping_config(bool reinforce_trains_core, bool every_step, double cost = 0.05) {
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

TEST(StoppingGradient, MatchesFiniteDifferences) {
  // check_model_gradient gives the stop decisions from the draws after the locations, which
  // given_locations fills uniform in [-1.4, 1.4]: about a third of the decisions stop.
  for (bool every_step : {false, true})
    for (bool trains_core : {false, true}) {
      const std::string label = std::string("adaptive stopping, classifier ") +
                                (every_step ? "at every step" : "at the stopping step") +
                                (trains_core ? ", reinforce_trains_core" : "");
      expect_gradient_matches(stopping_config(trains_core, every_step), {0.7, 0.3}, 404, 5, label);
    }
  ModelConfig sigmoid = stopping_config(true, false);
  sigmoid.reward_baseline = "sigmoid";  // bounded to [-c T, 1]
  expect_gradient_matches(sigmoid, {0.7, 0.3}, 404, 5, "adaptive stopping, sigmoid baseline");
}

TEST(StoppingEpisode, GivenStopsEndTheEpisodeAndTheAnswerIsTheStoppingStepsClassifier) {
  const ModelConfig config = stopping_config(false, false);
  const RamModel<double> model(config);
  const int B = 5, Tn = config.glimpses;
  EXPECT_EQ(model.draws_per_image(), Tn * 2 + Tn - 1);
  const auto params = random_params(model, 11, 0.6);
  const auto images = random_images(config, B, 11);
  auto draws = normal_draws(model, B, 11);
  give_stops(model, B, draws);
  Workspace<double> ws;
  model.forward(params.data(), images.data(), B, LocationMode::sample, draws.data(), ws,
                ram::StopMode::given);
  for (int i = 0; i < B; ++i) {
    const int N = i % Tn + 1;
    EXPECT_EQ(ws.glimpses_taken[static_cast<std::size_t>(i)], N);
    EXPECT_EQ(ws.probs.row(i), ws.step_probs[static_cast<std::size_t>(N - 1)].row(i));
    // q_n = sigmoid(h_n W_stop + b_stop)
    EXPECT_NEAR(ws.stop_prob(i, 0), 1 / (1 + std::exp(-ws.stop_logit(i, 0))), 1e-15);
  }
  const auto labels = mixed_labels(ws);
  model.assign_rewards(labels.data(), ws);
  for (int i = 0; i < B; ++i) {
    const double correct = i == 0 ? 1 : 0;
    EXPECT_NEAR(ws.reward(i, 0), correct - config.glimpse_cost * (i % Tn + 1), 1e-15);
  }
  EXPECT_EQ(model.loss_sums(labels.data(), ws).glimpses, 1 + 2 + 3 + 4 + 1);
}

TEST(StoppingEpisode, SampledAndThresholdedStops) {
  ModelConfig config = stopping_config(false, false);
  const RamModel<double> model(config);
  const int B = 64, Tn = config.glimpses;
  auto params = random_params(model, 12, 0.6);
  const auto images = random_images(config, B, 12);
  const auto draws = normal_draws(model, B, 12);
  const ParamSlot& sb = slot_named(model, "stop.bias");
  const ParamSlot& sw = slot_named(model, "stop.weight");
  std::fill_n(params.begin() + static_cast<std::ptrdiff_t>(sw.offset), sw.size(), 0.0);
  Workspace<double> ws;
  for (double bias : {-30.0, 30.0}) {  // q = 0 or 1 up to 1e-13
    params[sb.offset] = bias;
    for (auto mode : {ram::StopMode::sample, ram::StopMode::threshold}) {
      model.forward(params.data(), images.data(), B, LocationMode::sample, draws.data(), ws, mode);
      for (int n : ws.glimpses_taken) EXPECT_EQ(n, bias > 0 ? 1 : Tn);
    }
  }
  // q = sigmoid(0) = 1/2: thresholded never stops (q > 0.5 is false); sampled stops after
  // glimpse 1 exactly when Phi(draw) < 1/2, i.e. draw < 0.
  params[sb.offset] = 0;
  model.forward(params.data(), images.data(), B, LocationMode::sample, draws.data(), ws,
                ram::StopMode::threshold);
  for (int n : ws.glimpses_taken) EXPECT_EQ(n, Tn);
  model.forward(params.data(), images.data(), B, LocationMode::sample, draws.data(), ws);
  const auto per_image = static_cast<std::size_t>(model.draws_per_image());
  int early = 0;
  for (int i = 0; i < B; ++i) {
    const double first_draw = draws[static_cast<std::size_t>(i) * per_image + 2 * Tn];
    if (first_draw < 0) {
      EXPECT_EQ(ws.glimpses_taken[static_cast<std::size_t>(i)], 1);
      ++early;
    } else {
      EXPECT_GT(ws.glimpses_taken[static_cast<std::size_t>(i)], 1);
    }
  }
  EXPECT_GT(early, 10);
  EXPECT_LT(early, 54);
}

// A sampled episode with given stops and random non-zero advantages, as SampledEpisode.
struct StoppingEpisode {
  StoppingEpisode(bool trains_core, bool every_step)
      : config(stopping_config(trains_core, every_step)), model(config) {
    params = random_params(model, 13, 0.6);
    images = random_images(config, batch, 13);
    draws = normal_draws(model, batch, 13);
    give_stops(model, batch, draws);
    model.forward(params.data(), images.data(), batch, LocationMode::sample, draws.data(), ws,
                  ram::StopMode::given);
    labels = mixed_labels(ws);
    model.assign_rewards(labels.data(), ws);
    randomise_advantages(ws, 13);
  }
  std::vector<double> grad(const LossWeights& w) {
    return gradient(model, params, labels, w, 1.0 / batch, ws);
  }
  const int batch = 6;
  ModelConfig config;
  RamModel<double> model;
  std::vector<double> params, draws;
  std::vector<float> images;
  std::vector<std::uint8_t> labels;
  Workspace<double> ws;
};

TEST(StoppingTerms, StopNetIsTrainedByReinforceOnlyAndReinforceReachesOnlyThePolicies) {
  for (bool every_step : {false, true})
    for (bool trains_core : {false, true}) {
      SCOPED_TRACE(std::string(every_step ? "every step" : "stopping step") +
                   (trains_core ? ", reinforce_trains_core" : ""));
      StoppingEpisode e(trains_core, every_step);
      const auto ce_only = e.grad({0.0, 0.0});
      for (const char* name : {"stop.weight", "stop.bias", "location.weight", "location.bias"})
        EXPECT_TRUE(slot_is_zero(e.model, ce_only, slot_named(e.model, name))) << name;
      EXPECT_GT(slot_norm(e.model, ce_only, "action.weight"), 1e-3);
      EXPECT_GT(slot_norm(e.model, ce_only, "core.input.weight"), 1e-6);
      const auto with_rf = e.grad({0.7, 0.0});
      EXPECT_GT(slot_norm(e.model, with_rf, "stop.weight"), 1e-3);
      EXPECT_GT(slot_norm(e.model, with_rf, "stop.bias"), 1e-3);
      for (const ParamSlot& s : e.model.layout().slots()) {
        double diff = 0;
        for (std::size_t i = s.offset; i < s.offset + s.size(); ++i)
          diff = std::max(diff, std::abs(with_rf[i] - ce_only[i]));
        if (is_location(s) || is_stop(s))
          EXPECT_GT(diff, 1e-4) << s.name;
        else if (!trains_core || is_baseline(s) || s.name.starts_with("action."))
          EXPECT_EQ(diff, 0.0) << s.name;
        else
          EXPECT_GT(diff, 1e-6) << s.name;
      }
    }
}

TEST(StoppingTerms, StopGradientIsOverTheDecisionsTakenOnly) {
  // By hand: d(w * scale * RF)/db_stop = w * scale * sum_i sum_{n=1..min(N_i, T-1)}
  // (q_n - s_n) (R - b_n); decisions after the stop, and a decision at T, add nothing.
  StoppingEpisode e(false, false);
  const double w = 0.7, scale = 1.0 / e.batch;
  const int Tn = e.config.glimpses;
  double expect = 0, rf_stop = 0;
  for (int i = 0; i < e.batch; ++i) {
    const int N = e.ws.glimpses_taken[static_cast<std::size_t>(i)];
    for (int n = 1; n <= std::min(N, Tn - 1); ++n) {
      const double q = e.ws.stop_prob(i, n - 1), s = n == N ? 1.0 : 0.0;
      EXPECT_EQ(e.ws.stop(i, n - 1), s);
      expect += w * scale * (q - s) * e.ws.advantage(i, n);
      rf_stop -= std::log(s > 0 ? q : 1 - q) * e.ws.advantage(i, n);
    }
  }
  const auto g = e.grad({w, 0.0});
  EXPECT_NEAR(g[slot_named(e.model, "stop.bias").offset], expect, 1e-12);

  // The advantages of steps after the stop (t > N) are never used by any term.
  const auto before = e.grad({w, 0.4});
  const double rf_before = e.model.loss_sums(e.labels.data(), e.ws).reinforce;
  for (int i = 0; i < e.batch; ++i)
    for (int t = e.ws.glimpses_taken[static_cast<std::size_t>(i)] + 1; t < Tn; ++t)
      e.ws.advantage(i, t) = 123.0;
  EXPECT_EQ(e.grad({w, 0.4}), before);
  EXPECT_EQ(e.model.loss_sums(e.labels.data(), e.ws).reinforce, rf_before);

  // RF = location terms (t < N) + stop terms.
  const double var = e.config.location_std * e.config.location_std;
  double rf_location = 0;
  for (int i = 0; i < e.batch; ++i)
    for (int t = 0; t < e.ws.glimpses_taken[static_cast<std::size_t>(i)]; ++t) {
      const double d0 = e.ws.sample[t](i, 0) - e.ws.mean[t](i, 0);
      const double d1 = e.ws.sample[t](i, 1) - e.ws.mean[t](i, 1);
      const double log_pi = -(d0 * d0 + d1 * d1) / (2 * var) - std::log(2 * std::numbers::pi * var);
      rf_location -= log_pi * e.ws.advantage(i, t);
    }
  EXPECT_NEAR(rf_before, rf_location + rf_stop, 1e-9);
}

TEST(StoppingTerms, NeverStoppingWithoutReinforceIsTheFixedLengthModel) {
  // All decisions "continue", cost 0, classifier at the stopping step, no REINFORCE: every
  // shared parameter gets the fixed-length model's gradient and the stop net none.
  ModelConfig adaptive = stopping_config(true, false, 0.0);
  ModelConfig fixed = adaptive;
  fixed.adaptive_stopping = false;
  const RamModel<double> ma(adaptive), mf(fixed);
  const int B = 4, Tn = adaptive.glimpses;
  auto pa = random_params(ma, 14, 0.6);
  const std::vector<double> pf(pa.begin(),
                               pa.begin() + static_cast<std::ptrdiff_t>(mf.parameter_count()));
  const auto images = random_images(adaptive, B, 14);
  auto da = normal_draws(ma, B, 14);
  std::vector<double> df;
  for (int i = 0; i < B; ++i) {
    const auto per_image = static_cast<std::size_t>(ma.draws_per_image());
    for (int k = 0; k < 2 * Tn; ++k)
      df.push_back(da[static_cast<std::size_t>(i) * per_image + static_cast<std::size_t>(k)]);
    for (int n = 1; n < Tn; ++n)
      da[static_cast<std::size_t>(i) * per_image + static_cast<std::size_t>(2 * Tn + n - 1)] = 0;
  }
  Workspace<double> wa, wf;
  ma.forward(pa.data(), images.data(), B, LocationMode::sample, da.data(), wa,
             ram::StopMode::given);
  mf.forward(pf.data(), images.data(), B, LocationMode::sample, df.data(), wf);
  EXPECT_EQ(wa.probs, wf.probs);
  const auto labels = mixed_labels(wf);
  ma.assign_rewards(labels.data(), wa);
  mf.assign_rewards(labels.data(), wf);
  EXPECT_EQ(wa.advantage, wf.advantage);
  const auto ga = gradient(ma, pa, labels, {0.0, 0.6}, 0.25, wa);
  const auto gf = gradient(mf, pf, labels, {0.0, 0.6}, 0.25, wf);
  for (std::size_t k = 0; k < gf.size(); ++k) EXPECT_NEAR(ga[k], gf[k], 1e-14) << k;
  for (std::size_t k = gf.size(); k < ga.size(); ++k) EXPECT_EQ(ga[k], 0.0);
  EXPECT_EQ(ma.loss_sums(labels.data(), wa).baseline, mf.loss_sums(labels.data(), wf).baseline);
}

TEST(StoppingConfigJson, RoundTripOldConfigsAndValidation) {
  const ModelConfig c = stopping_config(false, true, 0.02);
  const auto j = ram::to_json(c);
  EXPECT_EQ(j.at("adaptive_stopping"), true);
  const ModelConfig back = ram::model_config_from_json(j);
  EXPECT_TRUE(back.adaptive_stopping);
  EXPECT_EQ(back.glimpse_cost, 0.02);
  EXPECT_TRUE(back.classifier_at_every_step);
  EXPECT_EQ(ram::to_json(back), j);
  // A fixed-length configuration is written without the fields, as before they existed, and
  // one without them reads as fixed-length.
  const auto fixed = ram::to_json(small_config());
  EXPECT_FALSE(fixed.contains("adaptive_stopping"));
  EXPECT_FALSE(ram::model_config_from_json(fixed).adaptive_stopping);
  for (const char* field : {"adaptive_stopping", "glimpse_cost", "classifier_at_every_step"}) {
    auto partial = j;
    partial.erase(field);
    EXPECT_THROW(ram::model_config_from_json(partial), ram::Error) << field;
  }
  ModelConfig bad = small_config();
  bad.glimpse_cost = 0.1;  // without adaptive stopping
  EXPECT_THROW(RamModel<float>{bad}, ram::Error);
  bad = c;
  bad.glimpse_cost = -0.1;
  EXPECT_THROW(RamModel<float>{bad}, ram::Error);
  bad.glimpse_cost = std::nan("");
  EXPECT_THROW(RamModel<float>{bad}, ram::Error);
  // The stop net adds its slots last: the other slots keep their offsets and initial values.
  const RamModel<float> ma(c);
  ModelConfig f = c;
  f.adaptive_stopping = false;
  f.glimpse_cost = 0;
  f.classifier_at_every_step = false;
  const RamModel<float> mf(f);
  EXPECT_EQ(ma.parameter_count(), mf.parameter_count() + static_cast<std::size_t>(c.core_size) + 1);
  std::vector<float> ia(ma.parameter_count()), iff(mf.parameter_count());
  ma.initialize(ia, 3, 0.1);
  mf.initialize(iff, 3, 0.1);
  EXPECT_TRUE(std::equal(iff.begin(), iff.end(), ia.begin()));
}

}  // namespace
