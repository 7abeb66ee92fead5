// Optimisers against hand computations in double precision: SGD with momentum, Adam, linear
// annealing of the learning rate, gradient-norm clipping, state restore and validation.
#include "ram/run/optimizer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include "ram/util/error.h"

namespace {

using ram::Optimizer;
using ram::OptimizerConfig;
using ram::StepResult;
using ram::ThreadPool;

OptimizerConfig sgd(double lr, double final_lr, double momentum) {
  OptimizerConfig c;
  c.kind = "sgd";
  c.learning_rate = lr;
  c.final_learning_rate = final_lr;
  c.momentum = momentum;
  return c;
}

OptimizerConfig adam(double lr, double final_lr) {
  OptimizerConfig c;
  c.kind = "adam";
  c.learning_rate = lr;
  c.final_learning_rate = final_lr;
  c.beta1 = 0.8;
  c.beta2 = 0.95;
  c.epsilon = 1e-3;  // large enough to matter in the comparison
  return c;
}

const std::vector<std::vector<float>> kGrads = {
    {0.5f, -1.0f, 0.0f}, {0.25f, 0.5f, 2.0f}, {-1.0f, 2.0f, -0.125f}, {0.75f, 0.0f, 1.5f}};

TEST(Sgd, MomentumUpdateMatchesHandComputation) {
  // 3 steps over a run of 3, lr 0.1 annealed to 0.01: lr 0.1, 0.07, 0.04.
  Optimizer opt(sgd(0.1, 0.01, 0.9), 3, 3);
  std::vector<float> p = {1.0f, -2.0f, 0.5f};
  std::vector<double> ref(p.begin(), p.end()), v(3, 0.0);
  const double lrs[3] = {0.1, 0.07, 0.04};
  for (int s = 0; s < 3; ++s) {
    std::vector<float> g = kGrads[static_cast<std::size_t>(s)];
    opt.step(p, g);
    for (std::size_t i = 0; i < 3; ++i) {
      v[i] = 0.9 * v[i] + g[i];
      ref[i] -= lrs[s] * v[i];
    }
    EXPECT_EQ(opt.steps_taken(), static_cast<std::uint64_t>(s + 1));
    for (std::size_t i = 0; i < 3; ++i) {
      EXPECT_NEAR(p[i], ref[i], 1e-6) << "step " << s << " parameter " << i;
      EXPECT_NEAR(opt.state()[i], v[i], 1e-6);
    }
  }
  // By hand for parameter 0: v = 0.5, 0.7, -0.37; p = 1 - 0.05 - 0.049 + 0.0148 = 0.9158.
  EXPECT_NEAR(p[0], 0.9158, 1e-6);
}

TEST(Sgd, ZeroMomentumIsPlainGradientDescent) {
  Optimizer opt(sgd(0.5, 0.5, 0.0), 2, 10);
  std::vector<float> p = {1.0f, 1.0f}, g = {0.25f, -0.5f};
  opt.step(p, g);
  EXPECT_FLOAT_EQ(p[0], 0.875f);
  EXPECT_FLOAT_EQ(p[1], 1.25f);
}

TEST(LearningRate, AnnealsLinearlyToTheFinalValue) {
  Optimizer opt(sgd(0.1, 0.001, 0.9), 1, 100);
  EXPECT_DOUBLE_EQ(opt.learning_rate_at(0), 0.1);
  EXPECT_NEAR(opt.learning_rate_at(25), 0.1 - 0.099 * 0.25, 1e-15);
  EXPECT_NEAR(opt.learning_rate_at(50), 0.0505, 1e-15);
  EXPECT_DOUBLE_EQ(opt.learning_rate_at(100), 0.001);
  EXPECT_DOUBLE_EQ(opt.learning_rate_at(1000), 0.001);  // stays at the final value

  // The paper's schedule: to zero.
  Optimizer to_zero(sgd(0.01, 0.0, 0.9), 1, 10);
  EXPECT_DOUBLE_EQ(to_zero.learning_rate_at(10), 0.0);
  EXPECT_NEAR(to_zero.learning_rate_at(5), 0.005, 1e-15);

  // A run of zero steps behaves like a run of one.
  Optimizer none(sgd(0.01, 0.0, 0.9), 1, 0);
  EXPECT_DOUBLE_EQ(none.learning_rate_at(0), 0.01);
  EXPECT_DOUBLE_EQ(none.learning_rate_at(1), 0.0);
}

TEST(LearningRate, ExponentialScheduleFallsByAConstantFactorToItsFloor) {
  OptimizerConfig c = adam(0.01, 0.0001);
  c.schedule = "exponential";
  Optimizer opt(c, 1, 100);
  EXPECT_DOUBLE_EQ(opt.learning_rate_at(0), 0.01);
  EXPECT_NEAR(opt.learning_rate_at(50), 0.001, 1e-15);  // halfway in log scale
  EXPECT_NEAR(opt.learning_rate_at(25), 0.01 * std::pow(0.01, 0.25), 1e-15);
  for (std::uint64_t s = 1; s < 100; ++s)
    EXPECT_NEAR(opt.learning_rate_at(s) / opt.learning_rate_at(s - 1), std::pow(0.01, 0.01), 1e-12);
  EXPECT_NEAR(opt.learning_rate_at(100), 0.0001, 1e-17);
  EXPECT_NEAR(opt.learning_rate_at(1000), 0.0001, 1e-17);  // stays on the floor
}

TEST(LearningRate, StepUsesTheRateOfItsOwnIndex) {
  // With momentum 0 and gradient 1 each step moves the parameter by exactly the rate.
  Optimizer opt(sgd(0.4, 0.1, 0.0), 1, 3);
  std::vector<float> p = {0.0f};
  const double expected[3] = {0.4, 0.3, 0.2};
  for (int s = 0; s < 3; ++s) {
    std::vector<float> g = {1.0f};
    const float before = p[0];
    opt.step(p, g);
    EXPECT_NEAR(before - p[0], expected[s], 1e-6) << "step " << s;
  }
}

void expect_adam_matches_reference(const OptimizerConfig& c, std::uint64_t total) {
  Optimizer opt(c, 3, total);
  std::vector<float> p = {1.0f, -2.0f, 0.5f};
  std::vector<double> ref(p.begin(), p.end()), m(3, 0.0), v(3, 0.0);
  for (std::size_t s = 0; s < kGrads.size(); ++s) {
    std::vector<float> g = kGrads[s];
    opt.step(p, g);
    const double t = static_cast<double>(s + 1);
    const double lr =
        c.learning_rate + (c.final_learning_rate - c.learning_rate) *
                              std::min(1.0, static_cast<double>(s) / static_cast<double>(total));
    for (std::size_t i = 0; i < 3; ++i) {
      m[i] = c.beta1 * m[i] + (1 - c.beta1) * g[i];
      v[i] = c.beta2 * v[i] + (1 - c.beta2) * g[i] * g[i];
      const double mhat = m[i] / (1 - std::pow(c.beta1, t));
      const double vhat = v[i] / (1 - std::pow(c.beta2, t));
      ref[i] -= lr * mhat / (std::sqrt(vhat) + c.epsilon);
    }
    for (std::size_t i = 0; i < 3; ++i) {
      EXPECT_NEAR(p[i], ref[i], 2e-6) << "step " << s << " parameter " << i;
      EXPECT_NEAR(opt.state()[i], m[i], 1e-6);      // first moments
      EXPECT_NEAR(opt.state()[3 + i], v[i], 1e-6);  // then second moments
    }
  }
}

TEST(Adam, MatchesDoubleReference) {
  expect_adam_matches_reference(adam(0.01, 0.01), 4);
  expect_adam_matches_reference(adam(0.05, 0.0), 4);   // annealed
  expect_adam_matches_reference(adam(0.05, 0.01), 2);  // past the end of the schedule
}

TEST(Adam, FirstStepMovesEachParameterByAboutTheLearningRate) {
  OptimizerConfig c = adam(0.01, 0.01);
  c.epsilon = 1e-8;
  Optimizer opt(c, 2, 10);
  std::vector<float> p = {0.0f, 0.0f}, g = {3.0f, -1e-3f};
  opt.step(p, g);
  EXPECT_NEAR(p[0], -0.01, 1e-6);
  EXPECT_NEAR(p[1], 0.01, 1e-5);
}

TEST(Clipping, RescalesToClipNormAndReturnsTheUnclippedNorm) {
  OptimizerConfig c = sgd(1.0, 1.0, 0.0);
  c.clip_norm = 1.0;
  Optimizer opt(c, 2, 10);
  std::vector<float> p = {0.0f, 0.0f}, g = {3.0f, -4.0f};
  EXPECT_DOUBLE_EQ(opt.step(p, g).gradient_norm, 5.0);
  EXPECT_EQ(g, (std::vector<float>{3.0f, -4.0f}));  // the caller's gradient is left as it was
  EXPECT_NEAR(p[0], -0.6f, 1e-7);
  EXPECT_NEAR(p[1], 0.8f, 1e-7);

  // Below the threshold: untouched.
  std::vector<float> small = {0.3f, -0.4f};
  EXPECT_NEAR(opt.step(p, small).gradient_norm, 0.5, 1e-7);
  EXPECT_EQ(small, (std::vector<float>{0.3f, -0.4f}));

  // Off (0): the norm is still reported, nothing is rescaled.
  Optimizer off(sgd(1.0, 1.0, 0.0), 2, 10);
  std::vector<float> q = {0.0f, 0.0f}, big = {30.0f, 40.0f};
  EXPECT_DOUBLE_EQ(off.step(q, big).gradient_norm, 50.0);
  EXPECT_EQ(big, (std::vector<float>{30.0f, 40.0f}));
  EXPECT_FLOAT_EQ(q[0], -30.0f);
}

TEST(Clipping, AppliesToAdamToo) {
  OptimizerConfig c = adam(0.01, 0.01);
  c.clip_norm = 2.0;
  Optimizer opt(c, 2, 10);
  std::vector<float> p = {0.0f, 0.0f}, g = {6.0f, 8.0f};
  EXPECT_DOUBLE_EQ(opt.step(p, g).gradient_norm, 10.0);
  EXPECT_NEAR(opt.state()[0], (1 - 0.8) * 1.2, 1e-6);  // m from the clipped gradient
  EXPECT_NEAR(opt.state()[1], (1 - 0.8) * 1.6, 1e-6);
}

TEST(Step, NonFiniteGradientLeavesEverythingUntouched) {
  Optimizer opt(adam(0.01, 0.0), 3, 10);
  std::vector<float> p = {1.0f, 2.0f, 3.0f}, g = {0.1f, std::nanf(""), 0.2f};
  const StepResult r = opt.step(p, g);
  EXPECT_FALSE(std::isfinite(r.gradient_norm));
  EXPECT_EQ(p, (std::vector<float>{1.0f, 2.0f, 3.0f}));
  EXPECT_EQ(opt.steps_taken(), 0u);
  EXPECT_EQ(opt.state(), std::vector<float>(6, 0.0f));
}

TEST(Step, ReportsParametersThatOverflow) {
  Optimizer opt(sgd(3e38, 3e38, 0.0), 2, 10);
  std::vector<float> p = {0.0f, 0.0f}, g = {-3e38f, 1.0f};
  EXPECT_FALSE(opt.step(p, g).parameters_finite);
}

TEST(Step, SameResultWithAnyThreadCount) {
  const std::size_t n = 100000;  // several chunks
  std::vector<float> grad(n);
  for (std::size_t i = 0; i < n; ++i) grad[i] = std::sin(static_cast<float>(i)) * 1e-2f;
  std::vector<std::vector<float>> finals;
  for (int threads : {0, 1, 2, 3}) {
    std::unique_ptr<ThreadPool> pool = threads ? std::make_unique<ThreadPool>(threads) : nullptr;
    OptimizerConfig c = adam(0.01, 0.0);
    c.clip_norm = 0.5;
    Optimizer opt(c, n, 10);
    std::vector<float> p(n, 0.5f), g = grad;
    double norm = 0;
    for (int s = 0; s < 3; ++s) norm = opt.step(p, g, pool.get()).gradient_norm;
    EXPECT_GT(norm, 0.5);
    finals.push_back(p);
  }
  for (const auto& f : finals) EXPECT_EQ(0, std::memcmp(f.data(), finals[0].data(), n * 4));
}

TEST(Step, GradientNormIsTheL2NormOfEveryElement) {
  // Lengths around the chunk size and the vector width, so that whole chunks, a partial last
  // chunk and a tail shorter than a vector all count.
  for (std::size_t n : {1u, 15u, 17u, 16384u, 16399u, 40000u}) {
    SCOPED_TRACE(n);
    std::vector<float> g(n);
    long double expected = 0;
    for (std::size_t i = 0; i < n; ++i) {
      g[i] = std::cos(static_cast<float>(i) * 0.37f) * (1.0f + static_cast<float>(i % 7));
      expected += static_cast<long double>(g[i]) * g[i];
    }
    Optimizer opt(sgd(0.0001, 0.0, 0.0), n, 1);
    std::vector<float> p(n, 0.0f);
    EXPECT_NEAR(opt.step(p, g).gradient_norm, std::sqrt(static_cast<double>(expected)),
                1e-12 * std::sqrt(static_cast<double>(expected)));
  }
}

TEST(State, RestoreContinuesTheRunExactly) {
  for (const OptimizerConfig& c : {sgd(0.1, 0.0, 0.9), adam(0.01, 0.001)}) {
    SCOPED_TRACE(c.kind);
    Optimizer a(c, 3, 4);
    std::vector<float> pa = {1.0f, -2.0f, 0.5f};
    for (int s = 0; s < 2; ++s) {
      std::vector<float> g = kGrads[static_cast<std::size_t>(s)];
      a.step(pa, g);
    }
    EXPECT_EQ(a.state().size(), c.kind == "adam" ? 6u : 3u);
    Optimizer b(c, 3, 4);
    b.restore(a.state(), a.steps_taken(), a.steps_skipped());
    EXPECT_EQ(b.steps_taken(), 2u);
    std::vector<float> pb = pa;
    for (std::size_t s = 2; s < 4; ++s) {
      std::vector<float> ga = kGrads[s], gb = kGrads[s];
      a.step(pa, ga);
      b.step(pb, gb);
    }
    EXPECT_EQ(pa, pb);
    EXPECT_EQ(a.state(), b.state());
  }
}

// A skipped batch moves the schedule on but is no update of Adam's moments: with a constant rate,
// step-skip-step ends where step-step does (the bias correction counting updates, not steps),
// and a restored optimiser continues the same way.
TEST(State, SkippedStepsDoNotCountInAdamsBiasCorrection) {
  OptimizerConfig c = adam(0.01, 0.01);
  Optimizer skipping(c, 3, 10), plain(c, 3, 10);
  std::vector<float> ps = {1.0f, -2.0f, 0.5f}, pp = ps;
  for (std::size_t s = 0; s < 2; ++s) {
    std::vector<float> gs = kGrads[s], gp = kGrads[s];
    skipping.step(ps, gs);
    plain.step(pp, gp);
    if (s == 0) skipping.skip_step();
  }
  EXPECT_EQ(skipping.steps_taken(), 3u);
  EXPECT_EQ(skipping.steps_skipped(), 1u);
  EXPECT_EQ(ps, pp);

  Optimizer restored(c, 3, 10);
  restored.restore(skipping.state(), skipping.steps_taken(), skipping.steps_skipped());
  std::vector<float> pr = ps, gr = kGrads[2], gp = kGrads[2];
  restored.step(pr, gr);
  plain.step(pp, gp);
  EXPECT_EQ(pr, pp);
  EXPECT_THROW(restored.restore(skipping.state(), 2, 3), ram::Error);
}

TEST(State, RestoreWithWrongSizeThrows) {
  Optimizer s(sgd(0.1, 0.0, 0.9), 3, 10);
  EXPECT_THROW(s.restore(std::vector<float>(2), 0, 0), ram::Error);
  EXPECT_THROW(s.restore(std::vector<float>(6), 0, 0), ram::Error);
  EXPECT_NO_THROW(s.restore(std::vector<float>(3), 5, 0));
  Optimizer a(adam(0.1, 0.0), 3, 10);
  EXPECT_THROW(a.restore(std::vector<float>(3), 0, 0), ram::Error);
  EXPECT_NO_THROW(a.restore(std::vector<float>(6), 0, 0));
}

TEST(Config, InvalidConfigurationsThrow) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<OptimizerConfig> bad;
  auto with = [&](auto change) {
    OptimizerConfig c;
    change(c);
    bad.push_back(c);
  };
  with([](OptimizerConfig& c) { c.kind = "rmsprop"; });
  with([](OptimizerConfig& c) { c.kind = ""; });
  with([](OptimizerConfig& c) { c.learning_rate = 0; });
  with([](OptimizerConfig& c) { c.learning_rate = -0.1; });
  with([&](OptimizerConfig& c) { c.learning_rate = nan; });
  with([&](OptimizerConfig& c) { c.learning_rate = inf; });
  with([](OptimizerConfig& c) { c.final_learning_rate = -1e-3; });
  with([](OptimizerConfig& c) { c.final_learning_rate = c.learning_rate * 2; });
  with([&](OptimizerConfig& c) { c.final_learning_rate = nan; });
  with([](OptimizerConfig& c) { c.momentum = 1.0; });
  with([](OptimizerConfig& c) { c.momentum = -0.1; });
  with([&](OptimizerConfig& c) { c.momentum = nan; });
  with([](OptimizerConfig& c) { c.beta1 = 1.0; });
  with([](OptimizerConfig& c) { c.beta2 = 1.0; });
  with([](OptimizerConfig& c) { c.beta2 = -0.5; });
  with([](OptimizerConfig& c) { c.epsilon = 0; });
  with([&](OptimizerConfig& c) { c.epsilon = nan; });
  with([](OptimizerConfig& c) { c.clip_norm = -1; });
  with([&](OptimizerConfig& c) { c.clip_norm = inf; });
  with([&](OptimizerConfig& c) { c.clip_norm = nan; });
  with([](OptimizerConfig& c) { c.schedule = "cosine"; });
  with([](OptimizerConfig& c) { c.schedule = "exponential"; });  // to a final rate of 0
  for (std::size_t k = 0; k < bad.size(); ++k) {
    EXPECT_THROW(ram::validate(bad[k]), ram::Error) << "case " << k;
    EXPECT_THROW(Optimizer(bad[k], 3, 10), ram::Error) << "case " << k;
  }
  EXPECT_NO_THROW(ram::validate(OptimizerConfig{}));
  EXPECT_NO_THROW(ram::validate(adam(0.1, 0.1)));
}

TEST(Config, JsonRoundTripAndMissingKeys) {
  const OptimizerConfig c = adam(0.02, 0.001);
  const OptimizerConfig back = ram::optimizer_config_from_json(ram::to_json(c));
  EXPECT_EQ(ram::to_json(back), ram::to_json(c));
  auto old_file = ram::to_json(c);  // written before the schedule could be chosen
  old_file.erase("schedule");
  EXPECT_EQ(ram::optimizer_config_from_json(old_file).schedule, "linear");
  OptimizerConfig exponential = c;
  exponential.schedule = "exponential";
  EXPECT_EQ(ram::optimizer_config_from_json(ram::to_json(exponential)).schedule, "exponential");
  auto j = ram::to_json(c);
  j.erase("momentum");
  EXPECT_THROW(ram::optimizer_config_from_json(j), ram::Error);
  auto k = ram::to_json(c);
  k["learning_rate"] = "fast";
  EXPECT_THROW(ram::optimizer_config_from_json(k), ram::Error);
  auto l = ram::to_json(c);
  l["learning_rate"] = -1.0;
  EXPECT_THROW(ram::optimizer_config_from_json(l), ram::Error);
}

}  // namespace
