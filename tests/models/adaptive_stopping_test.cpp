// Adaptive stopping: the stop policy after each glimpse, the answer at the stopping step, and
// which loss term reaches which parameters. The gradient against finite differences is in the
// table of tests/models/model_gradient_check_test.cpp.
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
#include "support/model_support.h"

// Inside ram::test: the library's names and the fixtures of support/model_support.h unqualified.
namespace ram::test {
namespace {

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

TEST(StoppingTerms, StopNetIsTrainedByReinforceOnlyAndReinforceReachesOnlyThePolicies) {
  for (bool every_step : {false, true})
    for (bool trains_core : {false, true}) {
      SCOPED_TRACE(std::string(every_step ? "every step" : "stopping step") +
                   (trains_core ? ", reinforce_trains_core" : ""));
      SampledEpisode e(stopping_config(trains_core, every_step), 13, 6);
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
  SampledEpisode e(stopping_config(false, false), 13, 6);
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
  // The classifier at every step without adaptive stopping: the fields are written, and read
  // back as that fixed-length model.
  ModelConfig every_step = small_config();
  every_step.classifier_at_every_step = true;
  const auto every_step_json = ram::to_json(every_step);
  EXPECT_EQ(every_step_json.at("adaptive_stopping"), false);
  EXPECT_EQ(every_step_json.at("classifier_at_every_step"), true);
  const ModelConfig every_step_back = ram::model_config_from_json(every_step_json);
  EXPECT_FALSE(every_step_back.adaptive_stopping);
  EXPECT_TRUE(every_step_back.classifier_at_every_step);
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
}  // namespace ram::test
