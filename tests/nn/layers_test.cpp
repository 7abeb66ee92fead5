// The layers of layers.h and the ReLU core (core.h) by hand: forward values, numerical safety, and
// how backward writes its outputs. Their gradients are checked against finite differences in the
// table of tests/nn/gradient_check_test.cpp.
#include "ram/nn/layers.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <random>
#include <utility>
#include <vector>

#include "ram/nn/core.h"
#include "ram/nn/parameters.h"
#include "ram/nn/tensor.h"

namespace {

using ram::ConstMatMap;
using ram::Mat;
using ram::MatMap;
using ram::ParamLayout;
using ram::ParamSlot;

std::vector<double> random_vector(std::size_t n, std::mt19937_64& gen, double lo = -1.0,
                                  double hi = 1.0) {
  std::uniform_real_distribution<double> dist(lo, hi);
  std::vector<double> v(n);
  for (auto& x : v) x = dist(gen);
  return v;
}

MatMap<double> as_mat(std::vector<double>& v, int rows, int cols) {
  return MatMap<double>(v.data(), rows, cols);
}
ConstMatMap<double> as_cmat(const std::vector<double>& v, int rows, int cols) {
  return ConstMatMap<double>(v.data(), rows, cols);
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

// The input gradient adds to what is there with accumulate, and overwrites it without.
TEST(Linear, BackwardInputAddsOrOverwrites) {
  const int B = 4, I = 5, O = 3;
  std::mt19937_64 gen(11);
  const std::vector<double> W = random_vector(static_cast<std::size_t>(I) * O, gen);
  const std::vector<double> dy = random_vector(static_cast<std::size_t>(B) * O, gen);
  auto backward = [&](double start, bool accumulate) {
    std::vector<double> dx(static_cast<std::size_t>(B) * I, start);
    ram::linear_backward_input<double>(as_cmat(dy, B, O), as_cmat(W, I, O), as_mat(dx, B, I),
                                       accumulate);
    return dx;
  };
  const std::vector<double> dx = backward(0.0, false);
  const Mat<double> expected = as_cmat(dy, B, O) * as_cmat(W, I, O).transpose();
  for (std::size_t i = 0; i < dx.size(); ++i) EXPECT_NEAR(dx[i], expected.data()[i], 1e-12);
  const std::vector<double> added = backward(1.0, true);
  for (std::size_t i = 0; i < dx.size(); ++i) EXPECT_NEAR(added[i], dx[i] + 1.0, 1e-12);
  EXPECT_EQ(backward(7.0, false), dx);
}

// Backward passes dy where the output is positive and exactly 0 elsewhere.
TEST(Relu, ForwardAndBackwardMask) {
  const int B = 3, N = 6;
  std::mt19937_64 gen(12);
  const std::vector<double> x = random_vector(static_cast<std::size_t>(B) * N, gen);
  const std::vector<double> dy = random_vector(x.size(), gen);
  Mat<double> y = as_cmat(x, B, N);
  ram::relu_forward(y);
  std::vector<double> dx = dy;
  ram::relu_backward(y, as_mat(dx, B, N));
  int negative = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    EXPECT_EQ(y.data()[i], std::max(x[i], 0.0));
    EXPECT_EQ(dx[i], x[i] > 0 ? dy[i] : 0.0);
    negative += x[i] < 0 ? 1 : 0;
  }
  EXPECT_GT(negative, 0);
  EXPECT_LT(negative, B * N);
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

TEST(GaussianLogDensity, Value) {
  const double x[2] = {1.7, -0.2};
  const double mean[2] = {0.3, 0.1};
  const double sd = 0.3;
  const double sq = 1.4 * 1.4 + 0.3 * 0.3;
  EXPECT_NEAR(ram::gaussian_log_density(x, mean, 2, sd),
              -sq / (2 * sd * sd) - std::log(2 * std::numbers::pi * sd * sd), 1e-12);
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

}  // namespace
