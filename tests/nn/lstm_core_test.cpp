// The LSTM core: shapes, a hand-computed step, and the classifier built on it. Its gradient
// through time is checked against finite differences in tests/nn/gradient_check_test.cpp.
#include "ram/nn/lstm_core.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "ram/models/ram_model.h"

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
