// The classifier's loss terms by hand: which term reaches which parameters, and the policy
// gradient's known pitfalls, which broke other implementations (sampled locations are data, log pi
// at the raw sample, detached baseline, no location after the last glimpse, the location net
// trained by REINFORCE only); the sigmoid baseline's range and the diagnostics. The gradient
// against finite differences is in the table of tests/models/model_gradient_check_test.cpp.
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
#include "support/model_support.h"

// Inside ram::test: the library's names and the fixtures of support/model_support.h unqualified.
namespace ram::test {
namespace {

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

// The classifier trained at every step: the same episode and answer (step T's), and a
// cross-entropy that is the mean of every step's.
TEST(ModelTerms, ClassifierAtEveryStepAveragesTheStepsCrossEntropy) {
  const ModelConfig last_only = small_config();
  ModelConfig every_step = last_only;
  every_step.classifier_at_every_step = true;
  const RamModel<double> a(last_only), b(every_step);
  ASSERT_EQ(a.parameter_count(), b.parameter_count());
  const int B = 5;
  const auto params = random_params(a, 8, 1.0);
  const auto images = random_images(last_only, B, 8);
  const auto draws = normal_draws(a, B, 8);
  const std::vector<std::uint8_t> labels{0, 1, 2, 3, 1};
  Workspace<double> wa, wb;
  a.forward(params.data(), images.data(), B, LocationMode::sample, draws.data(), wa);
  b.forward(params.data(), images.data(), B, LocationMode::sample, draws.data(), wb);
  EXPECT_EQ(wa.probs, wb.probs);
  a.assign_rewards(labels.data(), wa);
  b.assign_rewards(labels.data(), wb);
  double mean_ce = 0;
  for (int n = 1; n <= last_only.glimpses; ++n) {
    Mat<double> probs;
    a.step_probabilities(params.data(), wa, n, probs);
    for (int i = 0; i < B; ++i) mean_ce += -std::log(probs(i, labels[i])) / last_only.glimpses;
  }
  const LossSums sa = a.loss_sums(labels.data(), wa), sb = b.loss_sums(labels.data(), wb);
  EXPECT_NEAR(sb.cross_entropy, mean_ce, 1e-12);
  EXPECT_GT(std::abs(sa.cross_entropy - sb.cross_entropy), 1e-3);  // the last step's alone
  EXPECT_EQ(sa.correct, sb.correct);
}

// ---------------------------------------------------------------------------------------------
// Which loss term reaches which parameters.

TEST(ModelTerms, LocationNetGetsNoCrossEntropyGradientButAReinforceGradient) {
  for (bool trains_core : {false, true}) {
    SCOPED_TRACE(trains_core ? "reinforce_trains_core" : "reinforce trains location only");
    SampledEpisode e(small_config(trains_core));
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

// By hand: d(scale * w * RF)/dW_loc = scale * w * sum_{t < T} h_t^T dmu_t with
// dmu_t = -(l_t - mu_t) / std^2 * (R - b_t) * (1 - mu_t^2), l_t the raw sample. There are
// exactly T sampled locations; h_T (after the last glimpse) never produces one. With a random
// first glimpse the sums start at t = 1.
void expect_reinforce_by_hand(const ModelConfig& config) {
  SampledEpisode e(config);
  const double w = 0.7, scale = 1.0 / e.batch, var = e.config.location_std * e.config.location_std;
  const auto g = e.grad({w, 0.0});
  const int T = e.config.glimpses, H = e.config.core_size;
  ASSERT_EQ(e.ws.sample.size(), static_cast<std::size_t>(T));
  ASSERT_EQ(e.ws.mean.size(), static_cast<std::size_t>(T));
  ASSERT_EQ(e.ws.state.size(), static_cast<std::size_t>(T + 1));
  ram::Mat<double> dW = ram::Mat<double>::Zero(H, 2), db = ram::Mat<double>::Zero(1, 2);
  double rf = 0;
  for (int t = config.random_first_glimpse ? 1 : 0; t < T; ++t) {
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

TEST(ModelTerms, LocationGradientIsReinforceOverSampledLocationsOnly) {
  expect_reinforce_by_hand(small_config(false));
}

// A trainer's annealed std (Workspace::location_std) is the std of the episode: the samples,
// log pi and the REINFORCE gradient are exactly those of a model configured with that std.
TEST(ModelTerms, WorkspaceStdActsAsTheConfiguredStd) {
  ModelConfig configured = small_config(true);
  configured.location_std = 0.13;
  ModelConfig other = configured;
  other.location_std = 0.4;
  const RamModel<double> a(configured), b(other);
  const int rows = 5;
  const std::vector<double> params = random_params(a, 7, 0.6);
  const std::vector<float> images = random_images(configured, rows, 7);
  const std::vector<double> draws = normal_draws(a, rows, 7);
  Workspace<double> own, overridden, plain;
  overridden.location_std = 0.13;
  a.forward(params.data(), images.data(), rows, LocationMode::sample, draws.data(), own);
  b.forward(params.data(), images.data(), rows, LocationMode::sample, draws.data(), overridden);
  b.forward(params.data(), images.data(), rows, LocationMode::sample, draws.data(), plain);
  for (int t = 0; t < configured.glimpses; ++t) {
    EXPECT_EQ(own.sample[t], overridden.sample[t]) << "glimpse " << t;
    EXPECT_EQ(own.location[t], overridden.location[t]) << "glimpse " << t;
  }
  EXPECT_NE(own.sample[0], plain.sample[0]);  // b's own std samples elsewhere
  const std::vector<std::uint8_t> labels = mixed_labels(own);
  a.assign_rewards(labels.data(), own);
  b.assign_rewards(labels.data(), overridden);
  EXPECT_EQ(a.loss_sums(labels.data(), own).reinforce,
            b.loss_sums(labels.data(), overridden).reinforce);
  const LossWeights weights{0.5, 1.0};
  EXPECT_EQ(gradient(a, params, labels, weights, 0.2, own),
            gradient(b, params, labels, weights, 0.2, overridden));
}

// A random first glimpse: l_0 = erf(eps_0 / sqrt 2) in [-1, 1] whatever the policy says, in
// sampled and mean-location episodes; the later locations are the policy's; REINFORCE leaves
// out t = 0, since no policy chose l_0.
TEST(ModelTerms, RandomFirstGlimpseIsUniformAndHasNoReinforceTerm) {
  ModelConfig config = small_config(false);
  config.random_first_glimpse = true;
  const RamModel<double> model(config);
  const int rows = 5, T = config.glimpses;
  const std::vector<double> params = random_params(model, 7, 0.6);
  const std::vector<float> images = random_images(config, rows, 7);
  const std::vector<double> draws = normal_draws(model, rows, 7);
  for (const LocationMode mode : {LocationMode::sample, LocationMode::mean}) {
    Workspace<double> ws;
    model.forward(params.data(), images.data(), rows, mode, draws.data(), ws);
    for (int i = 0; i < rows; ++i) {
      for (int k = 0; k < 2; ++k) {
        const double draw = draws[static_cast<std::size_t>(i * T * 2 + k)];
        EXPECT_DOUBLE_EQ(ws.sample[0](i, k), std::erf(draw / std::numbers::sqrt2));
        EXPECT_LE(std::abs(ws.location[0](i, k)), 1.0);
        const double later = draws[static_cast<std::size_t>(i * T * 2 + 2 + k)];
        EXPECT_DOUBLE_EQ(
            ws.sample[1](i, k),
            ws.mean[1](i, k) + (mode == LocationMode::sample ? config.location_std * later : 0.0));
      }
    }
  }
  expect_reinforce_by_hand(config);  // over t = 1 .. T-1
}

TEST(ModelTerms, BaselineIsTrainedOnlyByItsOwnSquaredError) {
  for (bool trains_core : {false, true}) {
    SCOPED_TRACE(trains_core ? "reinforce_trains_core" : "reinforce trains location only");
    SampledEpisode e(small_config(trains_core));
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
    SampledEpisode e(small_config(trains_core));
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

}  // namespace
}  // namespace ram::test
