// The LSTM core: shapes, a hand-computed step, and finite-difference gradients in double
// through several steps of backpropagation through time.
#include "ram/nn/lstm_core.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "ram/models/ram_model.h"
#include "ram/util/rng.h"

namespace {

using ram::LstmCore;
using ram::Mat;

template <typename T>
ram::ConstMatMap<T> cmap(const Mat<T>& m) {
  return ram::ConstMatMap<T>(m.data(), m.rows(), m.cols());
}
template <typename T>
ram::MatMap<T> map(Mat<T>& m) {
  return ram::MatMap<T>(m.data(), m.rows(), m.cols());
}

Mat<double> random_mat(int rows, int cols, ram::Rng& rng, double range) {
  Mat<double> m(rows, cols);
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = rng.uniform(-range, range);
  return m;
}

TEST(LstmCore, SizesAndParameters) {
  LstmCore<float> core(5, 3);
  ram::ParamLayout layout;
  core.add_parameters(layout);
  EXPECT_EQ(core.state_size(), 6);
  EXPECT_EQ(core.output_size(), 3);
  EXPECT_EQ(core.cache_size(), 15);
  EXPECT_EQ(layout.total(), 5u * 12 + 3 * 12 + 12);
}

// One unit, one input, every weight 0 except the biases: the gates are constants.
TEST(LstmCore, OneStepByHand) {
  LstmCore<double> core(1, 1);
  ram::ParamLayout layout;
  core.add_parameters(layout);
  std::vector<double> p(layout.total(), 0.0);
  const ram::ParamSlot& bias = layout.slots()[2];
  const double zi = 0.3, zf = -0.2, zo = 0.7, zu = 0.5;
  p[bias.offset + 0] = zi;
  p[bias.offset + 1] = zf;
  p[bias.offset + 2] = zo;
  p[bias.offset + 3] = zu;
  Mat<double> g(1, 1), prev(1, 2), state(1, 2), cache(1, 5);
  g << 2.0;
  prev << 0.4, -0.6;
  core.forward(p.data(), cmap(g), cmap(prev), map(state), map(cache));
  auto sig = [](double z) { return 1 / (1 + std::exp(-z)); };
  const double c = sig(zf) * -0.6 + sig(zi) * std::tanh(zu);
  EXPECT_NEAR(state(0, 1), c, 1e-15);
  EXPECT_NEAR(state(0, 0), sig(zo) * std::tanh(c), 1e-15);
}

// Loss = sum_t <w_t, h_t> + <v, c_T> over T steps from a random state_0; the gradient of every
// parameter, of every input g_t and of state_0 is compared with central differences.
TEST(LstmCore, GradientThroughTimeMatchesFiniteDifferences) {
  constexpr int B = 3, G = 4, H = 5, Steps = 4;
  LstmCore<double> core(G, H);
  ram::ParamLayout layout;
  core.add_parameters(layout);
  ram::Rng rng(7);
  std::vector<double> params(layout.total());
  for (double& x : params) x = rng.uniform(-0.8, 0.8);
  std::vector<Mat<double>> inputs, weights;
  for (int t = 0; t < Steps; ++t) {
    inputs.push_back(random_mat(B, G, rng, 1.5));
    weights.push_back(random_mat(B, H, rng, 1.0));
  }
  const Mat<double> cell_weight = random_mat(B, H, rng, 1.0);
  const Mat<double> state0 = random_mat(B, 2 * H, rng, 0.9);

  auto loss = [&](const std::vector<double>& p, const std::vector<Mat<double>>& g,
                  const Mat<double>& s0, std::vector<Mat<double>>* states,
                  std::vector<Mat<double>>* caches) {
    std::vector<Mat<double>> s(Steps + 1, Mat<double>(B, 2 * H)), c(Steps, Mat<double>(B, 5 * H));
    s[0] = s0;
    double l = 0;
    for (int t = 0; t < Steps; ++t) {
      core.forward(p.data(), cmap(g[t]), cmap(s[t]), map(s[t + 1]), map(c[t]));
      l += (s[t + 1].leftCols(H).array() * weights[t].array()).sum();
    }
    l += (s[Steps].rightCols(H).array() * cell_weight.array()).sum();
    if (states) *states = s;
    if (caches) *caches = c;
    return l;
  };

  std::vector<Mat<double>> states, caches;
  loss(params, inputs, state0, &states, &caches);
  std::vector<double> grads(params.size(), 0.0);
  std::vector<Mat<double>> dinputs(Steps, Mat<double>(B, G));
  Mat<double> dstate(B, 2 * H), dprev(B, 2 * H), scratch;
  dstate.leftCols(H).setZero();
  dstate.rightCols(H) = cell_weight;
  for (int t = Steps - 1; t >= 0; --t) {
    dstate.leftCols(H) += weights[t];
    core.backward(params.data(), grads.data(), cmap(inputs[t]), cmap(states[t]),
                  cmap(states[t + 1]), cmap(caches[t]), map(dstate), map(dinputs[t]), map(dprev),
                  scratch);
    std::swap(dstate, dprev);
  }

  constexpr double h = 1e-6;
  auto expect_close = [](double analytic, double numeric, const std::string& what) {
    EXPECT_NEAR(analytic, numeric, 1e-7 * std::max(1.0, std::abs(numeric))) << what;
  };
  for (std::size_t k = 0; k < params.size(); ++k) {
    std::vector<double> p = params;
    p[k] += h;
    const double up = loss(p, inputs, state0, nullptr, nullptr);
    p[k] -= 2 * h;
    const double down = loss(p, inputs, state0, nullptr, nullptr);
    expect_close(grads[k], (up - down) / (2 * h), "parameter " + std::to_string(k));
  }
  for (int t = 0; t < Steps; ++t)
    for (Eigen::Index k = 0; k < inputs[t].size(); ++k) {
      auto g = inputs;
      g[t].data()[k] += h;
      const double up = loss(params, g, state0, nullptr, nullptr);
      g[t].data()[k] -= 2 * h;
      const double down = loss(params, g, state0, nullptr, nullptr);
      expect_close(dinputs[t].data()[k], (up - down) / (2 * h),
                   "input of step " + std::to_string(t));
    }
  for (Eigen::Index k = 0; k < state0.size(); ++k) {
    Mat<double> s = state0;
    s.data()[k] += h;
    const double up = loss(params, inputs, s, nullptr, nullptr);
    s.data()[k] -= 2 * h;
    const double down = loss(params, inputs, s, nullptr, nullptr);
    expect_close(dstate.data()[k], (up - down) / (2 * h), "initial state");
  }
}

// The classification model accepts the LSTM core: its state is [h, c], twice the core size.
TEST(LstmCore, ClassificationModelRunsWithLstmCore) {
  ram::ModelConfig config;
  config.core = "lstm";
  config.core_size = 16;
  config.glimpses = 3;
  const ram::RamModel<float> model(config);
  std::vector<float> params(model.parameter_count());
  model.initialize(params, 1, 0.1);
  std::vector<float> images(2 * 28 * 28, 0.5f);
  std::vector<float> draws(2 * static_cast<std::size_t>(model.draws_per_image()), 0.1f);
  ram::Workspace<float> ws;
  model.forward(params.data(), images.data(), 2, ram::LocationMode::sample, draws.data(), ws);
  EXPECT_EQ(ws.state[1].cols(), 32);
  EXPECT_TRUE(ws.probs.allFinite());
  EXPECT_NEAR(ws.probs.row(0).sum(), 1.0f, 1e-5f);
}

}  // namespace
