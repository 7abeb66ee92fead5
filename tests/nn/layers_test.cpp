// Finite-difference gradient checks of every layer in layers.h and of the ReLU core (core.h), in
// double precision. One harness (check_gradient) serves every op: it perturbs one value of a
// buffer at a time, evaluates a scalar loss by central differences and compares with the
// analytic gradient the layer's backward produced.
#include "ram/nn/layers.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <numbers>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "ram/nn/core.h"
#include "ram/nn/parameters.h"
#include "ram/nn/tensor.h"

namespace {

using ram::ConstMatMap;
using ram::ConstRowVecMap;
using ram::Mat;
using ram::MatMap;
using ram::ParamLayout;
using ram::ParamSlot;
using ram::RowVecMap;

constexpr double kStep = 1e-6;
constexpr double kTolerance = 1e-6;

struct GradientReport {
  double worst_relative = 0;
  std::size_t worst_index = 0;
  double analytic = 0, numeric = 0;
};

// Relative error with a floor, so that gradients that are (exactly or nearly) zero are judged
// by their absolute error against the floor instead of dividing noise by noise.
double relative_error(double a, double n, double floor = 1e-4) {
  return std::abs(a - n) / std::max({std::abs(a), std::abs(n), floor});
}

// Compares analytic[offset + i] with the central difference of loss() in x[offset + i], for
// i in [0, count). x is perturbed in place and restored.
GradientReport check_gradient(std::vector<double>& x, const std::vector<double>& analytic,
                              const std::function<double()>& loss, std::size_t offset = 0,
                              std::size_t count = std::numeric_limits<std::size_t>::max()) {
  EXPECT_EQ(x.size(), analytic.size());
  count = std::min(count, x.size() - offset);
  GradientReport report;
  for (std::size_t i = offset; i < offset + count; ++i) {
    const double saved = x[i];
    x[i] = saved + kStep;
    const double up = loss();
    x[i] = saved - kStep;
    const double down = loss();
    x[i] = saved;
    const double numeric = (up - down) / (2 * kStep);
    const double rel = relative_error(analytic[i], numeric);
    if (rel >= report.worst_relative) report = {rel, i, analytic[i], numeric};
  }
  return report;
}

std::string describe(const std::string& what, const GradientReport& r) {
  return what + ": worst relative error " + std::to_string(r.worst_relative) + " at index " +
         std::to_string(r.worst_index) + " (analytic " + std::to_string(r.analytic) + ", numeric " +
         std::to_string(r.numeric) + ")";
}

std::vector<double> random_vector(std::size_t n, std::mt19937_64& gen, double lo = -1.0,
                                  double hi = 1.0) {
  std::uniform_real_distribution<double> dist(lo, hi);
  std::vector<double> v(n);
  for (auto& x : v) x = dist(gen);
  return v;
}

// Values uniform in +-[0.1, 1]: far enough from 0 that a kStep perturbation never crosses a
// ReLU kink.
std::vector<double> away_from_zero(std::size_t n, std::mt19937_64& gen) {
  std::uniform_real_distribution<double> mag(0.1, 1.0);
  std::bernoulli_distribution sign(0.5);
  std::vector<double> v(n);
  for (auto& x : v) x = sign(gen) ? mag(gen) : -mag(gen);
  return v;
}

MatMap<double> as_mat(std::vector<double>& v, int rows, int cols) {
  return MatMap<double>(v.data(), rows, cols);
}
ConstMatMap<double> as_cmat(const std::vector<double>& v, int rows, int cols) {
  return ConstMatMap<double>(v.data(), rows, cols);
}

// Sum of y .* weights: a scalar loss whose gradient with respect to y is `weights`.
double project(const Mat<double>& y, const std::vector<double>& weights) {
  double s = 0;
  for (Eigen::Index i = 0; i < y.size(); ++i) s += y.data()[i] * weights[i];
  return s;
}

TEST(GradientHarness, DetectsAWrongGradient) {
  // The harness itself: f = sum x^3 has gradient 3x^2; a gradient of 2x^2 must be flagged.
  std::vector<double> x = {0.5, -1.25, 2.0};
  auto loss = [&] { return x[0] * x[0] * x[0] + x[1] * x[1] * x[1] + x[2] * x[2] * x[2]; };
  std::vector<double> right(3), wrong(3);
  for (int i = 0; i < 3; ++i) {
    right[i] = 3 * x[i] * x[i];
    wrong[i] = 2 * x[i] * x[i];
  }
  EXPECT_LT(check_gradient(x, right, loss).worst_relative, kTolerance);
  EXPECT_GT(check_gradient(x, wrong, loss).worst_relative, 0.1);
  EXPECT_EQ(x, (std::vector<double>{0.5, -1.25, 2.0}));  // restored
}

TEST(Linear, ForwardComputesXWPlusB) {
  ParamLayout layout;
  const ParamSlot W = layout.weight("w", 3, 2);
  const ParamSlot b = layout.bias("b", 2);
  std::vector<double> params = {1, 2, 3, 4, 5, 6, 0.5, -0.5};  // W = [[1,2],[3,4],[5,6]]
  Mat<double> x(2, 3);
  x << 1, 0, -1, 2, 1, 0;
  Mat<double> y(2, 2);
  ram::linear_forward<double>(x, ram::view(std::as_const(params).data(), W),
                              ram::row(std::as_const(params).data(), b), y);
  Mat<double> expected(2, 2);
  expected << 1 - 5 + 0.5, 2 - 6 - 0.5, 2 + 3 + 0.5, 4 + 4 - 0.5;
  EXPECT_EQ(y, expected);
}

TEST(Linear, GradientsOfWeightsBiasAndInput) {
  const int B = 4, I = 5, O = 3;
  std::mt19937_64 gen(11);
  ParamLayout layout;
  const ParamSlot W = layout.weight("w", I, O);
  const ParamSlot b = layout.bias("b", O);
  std::vector<double> params = random_vector(layout.total(), gen);
  std::vector<double> x = random_vector(static_cast<std::size_t>(B) * I, gen);
  const std::vector<double> dy = random_vector(static_cast<std::size_t>(B) * O, gen);

  auto loss = [&] {
    Mat<double> y(B, O);
    ram::linear_forward<double>(as_cmat(x, B, I), ram::view(std::as_const(params).data(), W),
                                ram::row(std::as_const(params).data(), b), y);
    return project(y, dy);
  };

  // Parameter gradients accumulate: start from a non-zero buffer and subtract it afterwards.
  const std::vector<double> prior = random_vector(layout.total(), gen);
  std::vector<double> grads = prior;
  ram::linear_backward_params<double>(as_cmat(x, B, I), as_cmat(dy, B, O),
                                      ram::view(grads.data(), W), ram::row(grads.data(), b));
  for (std::size_t i = 0; i < grads.size(); ++i) grads[i] -= prior[i];

  const auto dW = check_gradient(params, grads, loss, W.offset, W.size());
  EXPECT_LT(dW.worst_relative, kTolerance) << describe("dW", dW);
  const auto db = check_gradient(params, grads, loss, b.offset, b.size());
  EXPECT_LT(db.worst_relative, kTolerance) << describe("db", db);

  std::vector<double> dx(x.size());
  ram::linear_backward_input<double>(as_cmat(dy, B, O), ram::view(std::as_const(params).data(), W),
                                     as_mat(dx, B, I), false);
  const auto rx = check_gradient(x, dx, loss);
  EXPECT_LT(rx.worst_relative, kTolerance) << describe("dx", rx);

  // accumulate = true adds to what is there; false overwrites.
  std::vector<double> dx2(x.size(), 1.0);
  ram::linear_backward_input<double>(as_cmat(dy, B, O), ram::view(std::as_const(params).data(), W),
                                     as_mat(dx2, B, I), true);
  for (std::size_t i = 0; i < dx.size(); ++i) EXPECT_NEAR(dx2[i], dx[i] + 1.0, 1e-12);
  std::vector<double> dx3(x.size(), 7.0);
  ram::linear_backward_input<double>(as_cmat(dy, B, O), ram::view(std::as_const(params).data(), W),
                                     as_mat(dx3, B, I), false);
  EXPECT_EQ(dx3, dx);
}

TEST(Relu, ForwardAndGradient) {
  const int B = 3, N = 6;
  std::mt19937_64 gen(12);
  std::vector<double> x = away_from_zero(static_cast<std::size_t>(B) * N, gen);
  const std::vector<double> dy = random_vector(x.size(), gen);
  auto forward = [&] {
    Mat<double> y = as_cmat(x, B, N);
    ram::relu_forward(y);
    return y;
  };
  const Mat<double> y = forward();
  for (Eigen::Index i = 0; i < y.size(); ++i)
    EXPECT_EQ(y.data()[i], std::max(x[static_cast<std::size_t>(i)], 0.0));

  std::vector<double> dx = dy;
  ram::relu_backward(y, as_mat(dx, B, N));
  const auto r = check_gradient(x, dx, [&] { return project(forward(), dy); });
  EXPECT_LT(r.worst_relative, kTolerance) << describe("relu dx", r);
  // Exactly zero where the input was negative.
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (x[i] < 0) {
      EXPECT_EQ(dx[i], 0.0);
    }
  }
}

TEST(Softmax, RowsSumToOneAndLargeLogitsDoNotOverflow) {
  Mat<double> logits(2, 3);
  logits << 1000, 1001, 999, -1000, -1000, -1000;
  Mat<double> probs(2, 3);
  ram::softmax_forward(logits, probs);
  EXPECT_TRUE(probs.allFinite());
  EXPECT_NEAR(probs.row(0).sum(), 1.0, 1e-12);
  EXPECT_NEAR(probs(1, 0), 1.0 / 3, 1e-12);
  const double e = std::exp(1.0);
  EXPECT_NEAR(probs(0, 1), e / (1 + e + 1 / e), 1e-12);
  // A probability that underflowed to zero still gives a finite loss.
  EXPECT_TRUE(std::isfinite(ram::cross_entropy(0.0)));
  EXPECT_NEAR(ram::cross_entropy(0.25), std::log(4.0), 1e-15);
}

TEST(Softmax, CrossEntropyGradient) {
  const int B = 4, C = 5;
  const double scale = 0.37;
  std::mt19937_64 gen(13);
  std::vector<double> logits = random_vector(static_cast<std::size_t>(B) * C, gen, -3, 3);
  const std::uint8_t labels[B] = {0, 4, 2, 2};
  auto probs_of = [&] {
    Mat<double> p(B, C);
    ram::softmax_forward(as_cmat(logits, B, C), p);
    return p;
  };
  auto loss = [&] {
    const Mat<double> p = probs_of();
    double s = 0;
    for (int i = 0; i < B; ++i) s += ram::cross_entropy(p(i, labels[i]));
    return scale * s;
  };
  std::vector<double> dlogits(logits.size());
  ram::softmax_cross_entropy_backward(probs_of(), labels, scale, as_mat(dlogits, B, C));
  const auto r = check_gradient(logits, dlogits, loss);
  EXPECT_LT(r.worst_relative, kTolerance) << describe("dlogits", r);
}

TEST(GaussianLogDensity, ValueAndGradientInTheMean) {
  const double x[2] = {1.7, -0.2};
  std::vector<double> mean = {0.3, 0.1};
  const double sd = 0.3;
  const double sq = 1.4 * 1.4 + 0.3 * 0.3;
  EXPECT_NEAR(ram::gaussian_log_density(x, mean.data(), 2, sd),
              -sq / (2 * sd * sd) - std::log(2 * std::numbers::pi * sd * sd), 1e-12);
  // d log N / d mu = (x - mu) / sd^2: the REINFORCE term of model.cpp relies on it.
  const std::vector<double> analytic = {(x[0] - mean[0]) / (sd * sd), (x[1] - mean[1]) / (sd * sd)};
  const auto r = check_gradient(mean, analytic,
                                [&] { return ram::gaussian_log_density(x, mean.data(), 2, sd); });
  EXPECT_LT(r.worst_relative, kTolerance) << describe("dlogN/dmu", r);
}

TEST(ReluCore, ForwardMatchesDefinition) {
  const int B = 3, G = 4, H = 5;
  std::mt19937_64 gen(14);
  ram::ReluCore<double> core(G, H);
  ParamLayout layout;
  core.add_parameters(layout);
  ASSERT_EQ(layout.slots().size(), 3u);
  EXPECT_EQ(core.state_size(), H);
  EXPECT_EQ(core.output_size(), H);
  const std::vector<double> params = random_vector(layout.total(), gen);
  const std::vector<double> g = random_vector(static_cast<std::size_t>(B) * G, gen);
  const std::vector<double> prev = random_vector(static_cast<std::size_t>(B) * H, gen);
  std::vector<double> state(static_cast<std::size_t>(B) * H);
  core.forward(params.data(), as_cmat(g, B, G), as_cmat(prev, B, H), as_mat(state, B, H),
               MatMap<double>(nullptr, B, 0));
  const auto& s = layout.slots();
  Mat<double> pre = as_cmat(prev, B, H) * ram::view(params.data(), s[0]) +
                    as_cmat(g, B, G) * ram::view(params.data(), s[1]);
  pre.rowwise() += ram::row(params.data(), s[2]);
  const Mat<double> expected = pre.cwiseMax(0.0);
  for (int i = 0; i < B; ++i)
    for (int j = 0; j < H; ++j)
      EXPECT_NEAR(state[static_cast<std::size_t>(i * H + j)], expected(i, j), 1e-14);
}

TEST(ReluCore, GradientsOfAllParametersInputAndPreviousState) {
  const int B = 4, G = 5, H = 6;
  std::mt19937_64 gen(15);
  ram::ReluCore<double> core(G, H);
  ParamLayout layout;
  core.add_parameters(layout);
  std::vector<double> params = random_vector(layout.total(), gen, -0.7, 0.7);
  std::vector<double> g = random_vector(static_cast<std::size_t>(B) * G, gen);
  std::vector<double> prev = random_vector(static_cast<std::size_t>(B) * H, gen);
  const std::vector<double> dstate_in = random_vector(static_cast<std::size_t>(B) * H, gen);

  auto forward = [&] {
    Mat<double> state(B, H);
    core.forward(params.data(), as_cmat(g, B, G), as_cmat(prev, B, H),
                 MatMap<double>(state.data(), B, H), MatMap<double>(nullptr, B, 0));
    return state;
  };
  auto loss = [&] { return project(forward(), dstate_in); };

  // The test needs both active and inactive units, none of them on a kink.
  const Mat<double> state = forward();
  Mat<double> pre =
      as_cmat(prev, B, H) * ram::view(std::as_const(params).data(), layout.slots()[0]) +
      as_cmat(g, B, G) * ram::view(std::as_const(params).data(), layout.slots()[1]);
  pre.rowwise() += ram::row(std::as_const(params).data(), layout.slots()[2]);
  ASSERT_GT(pre.cwiseAbs().minCoeff(), 1e-3);
  ASSERT_GT((state.array() > 0).count(), 0);
  ASSERT_GT((state.array() == 0).count(), 0);

  const std::vector<double> prior = random_vector(layout.total(), gen);
  std::vector<double> grads = prior;
  std::vector<double> dstate = dstate_in;  // overwritten by backward
  std::vector<double> dg(g.size()), dprev(prev.size());
  ram::Mat<double> scratch;
  core.backward(std::as_const(params).data(), grads.data(), as_cmat(g, B, G), as_cmat(prev, B, H),
                ConstMatMap<double>(state.data(), B, H), ConstMatMap<double>(nullptr, B, 0),
                as_mat(dstate, B, H), as_mat(dg, B, G), as_mat(dprev, B, H), scratch);
  for (std::size_t i = 0; i < grads.size(); ++i) grads[i] -= prior[i];

  for (const ParamSlot& slot : layout.slots()) {
    const auto r = check_gradient(params, grads, loss, slot.offset, slot.size());
    EXPECT_LT(r.worst_relative, kTolerance) << describe(slot.name, r);
  }
  const auto rg = check_gradient(g, dg, loss);
  EXPECT_LT(rg.worst_relative, kTolerance) << describe("dg", rg);
  const auto rp = check_gradient(prev, dprev, loss);
  EXPECT_LT(rp.worst_relative, kTolerance) << describe("dstate_prev", rp);
}

}  // namespace
