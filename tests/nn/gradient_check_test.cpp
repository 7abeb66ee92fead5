// The gradient-check harness (support/gradient_check.h) and its table for nn/: every layer of
// layers.h, the ReLU and LSTM cores, the glimpse network and the heads of recurrent_attention.h,
// each in double against fourth-order central differences. The models' table is
// tests/models/model_gradient_check_test.cpp.
#include "support/gradient_check.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "ram/nn/core.h"
#include "ram/nn/glimpse_network.h"
#include "ram/nn/layers.h"
#include "ram/nn/lstm_core.h"
#include "ram/nn/parameters.h"
#include "ram/nn/recurrent_attention.h"
#include "ram/nn/tensor.h"

namespace ram::test {
namespace {

// Values uniform in +-[0.1, 1]: far enough from 0 that no difference crosses a ReLU kink.
std::vector<double> away_from_zero(std::size_t n, std::uint64_t seed) {
  std::vector<double> v = uniform(n, seed);
  for (auto& x : v) x = std::copysign(0.1 + 0.9 * std::abs(x), x);
  return v;
}

ConstMatMap<double> cmap(const Mat<double>& m) {
  return ConstMatMap<double>(m.data(), m.rows(), m.cols());
}
MatMap<double> map(Mat<double>& m) {
  return MatMap<double>(m.data(), m.rows(), m.cols());
}

// Sum of y .* weights: a scalar loss whose gradient with respect to y is `weights`.
double project(const Mat<double>& y, const std::vector<double>& weights) {
  return (y.array() * ConstMatMap<double>(weights.data(), y.rows(), y.cols()).array()).sum();
}

// ---------------------------------------------------------------------------------------------
// The harness itself.

// f = sum x^3 on one slot, gradient 3x^2.
GradientCase cubes(const std::vector<double>& gradient_factor) {
  GradientCase c;
  c.layout.weight("x", 1, 3);
  c.point = {0.5, -1.25, 2.0};
  for (std::size_t i = 0; i < 3; ++i)
    c.analytic.push_back(gradient_factor[i] * c.point[i] * c.point[i]);
  c.loss = [](const std::vector<double>& x) {
    return x[0] * x[0] * x[0] + x[1] * x[1] * x[1] + x[2] * x[2] * x[2];
  };
  return c;
}

TEST(GradientHarness, DetectsAWrongGradient) {
  const GradientCase right = cubes({3, 3, 3});
  EXPECT_TRUE(
      all_within_tolerance(compare(right.layout, right.analytic, finite_differences(right))));
  for (const std::vector<double>& factor : {std::vector<double>{2, 2, 2},  // a wrong formula
                                            std::vector<double>{3.03, 3.03, 3.03},  // 1% off
                                            std::vector<double>{3, 3.03, 3}}) {     // one element
    const GradientCase wrong = cubes(factor);
    const auto reports = compare(wrong.layout, wrong.analytic, finite_differences(wrong));
    EXPECT_FALSE(all_within_tolerance(reports));
    EXPECT_GT(reports[0].worst, 5e-3);
  }
}

TEST(GradientHarness, CountsDifferencesAcrossAKink) {
  // f = sum max(x, 0); x[1] sits within a step of the kink, so its differences straddle it.
  GradientCase c;
  c.layout.weight("x", 1, 3);
  c.point = {0.5, 0.5 * kGradientStep, -0.7};
  c.analytic = {1, 1, 0};
  c.loss = [](const std::vector<double>& x) {
    return std::max(x[0], 0.0) + std::max(x[1], 0.0) + std::max(x[2], 0.0);
  };
  c.valid = [ref = c.point](const std::vector<double>& x) {
    for (std::size_t i = 0; i < x.size(); ++i)
      if ((x[i] > 0) != (ref[i] > 0)) return false;
    return true;
  };
  const Differences d = finite_differences(c);
  EXPECT_EQ(d.kinked, (std::vector<bool>{false, true, false}));
  const auto reports = compare(c.layout, c.analytic, d);
  EXPECT_EQ(reports[0].kinks, 1);
  EXPECT_EQ(reports[0].checked, 2);
  EXPECT_LT(reports[0].worst, kGradientTolerance);  // the others are right
  EXPECT_FALSE(all_within_tolerance(reports));      // but the case fails
}

// ---------------------------------------------------------------------------------------------
// layers.h

// y [B x O] = x W + b; loss = sum y .* dy.
GradientCase linear_case() {
  const int B = 4, I = 5, O = 3;
  GradientCase c;
  const ParamSlot W = c.layout.weight("w", I, O), b = c.layout.bias("b", O);
  const ParamSlot x = c.layout.weight("x", B, I);
  c.point = uniform(c.layout.total(), 11);
  const std::vector<double> dy = uniform(B * O, 12);
  c.loss = [=](const std::vector<double>& p) {
    Mat<double> y(B, O);
    linear_forward<double>(view(p.data(), x), view(p.data(), W), row(p.data(), b), y);
    return project(y, dy);
  };
  // Parameter gradients accumulate: start from a non-zero buffer and take it off afterwards.
  // The input gradient overwrites what is there.
  const std::vector<double> prior = uniform(c.layout.total(), 13);
  c.analytic = prior;
  const ConstMatMap<double> dy_map(dy.data(), B, O);
  linear_backward_params<double>(view(std::as_const(c.point).data(), x), dy_map,
                                 view(c.analytic.data(), W), row(c.analytic.data(), b));
  for (std::size_t i = 0; i < W.size() + b.size(); ++i) c.analytic[i] -= prior[i];
  linear_backward_input<double>(dy_map, view(std::as_const(c.point).data(), W),
                                view(c.analytic.data(), x), false);
  return c;
}

GradientCase relu_case() {
  const int B = 3, N = 6;
  GradientCase c;
  const ParamSlot x = c.layout.weight("x", B, N);
  c.point = away_from_zero(x.size(), 21);
  const std::vector<double> dy = uniform(x.size(), 22);
  auto forward = [=](const std::vector<double>& p) {
    Mat<double> y = view(p.data(), x);
    relu_forward(y);
    return y;
  };
  c.loss = [=](const std::vector<double>& p) { return project(forward(p), dy); };
  c.valid = [=, ref = relu_pattern(forward(c.point))](const std::vector<double>& p) {
    return relu_pattern(forward(p)) == ref;
  };
  c.analytic = dy;
  relu_backward(forward(c.point), view(c.analytic.data(), x));
  return c;
}

GradientCase softmax_cross_entropy_case() {
  const int B = 4, C = 5;
  const double scale = 0.37;
  const std::vector<std::uint8_t> labels = {0, 4, 2, 2};
  GradientCase c;
  const ParamSlot logits = c.layout.weight("logits", B, C);
  c.point = uniform(logits.size(), 31, 3.0);
  auto probs = [=](const std::vector<double>& p) {
    Mat<double> out(B, C);
    softmax_forward(view(p.data(), logits), out);
    return out;
  };
  c.loss = [=](const std::vector<double>& p) {
    const Mat<double> q = probs(p);
    double s = 0;
    for (int i = 0; i < B; ++i) s += cross_entropy(q(i, labels[static_cast<size_t>(i)]));
    return scale * s;
  };
  c.analytic.resize(logits.size());
  softmax_cross_entropy_backward(probs(c.point), labels.data(), scale,
                                 view(c.analytic.data(), logits));
  return c;
}

// d log N / d mu = (x - mu) / sd^2: the REINFORCE term of the location policy relies on it.
GradientCase gaussian_log_density_case() {
  const std::vector<double> x = {1.7, -0.2};
  const double sd = 0.3;
  GradientCase c;
  c.layout.bias("mean", 2);
  c.point = {0.3, 0.1};
  c.loss = [=](const std::vector<double>& mean) {
    return gaussian_log_density(x.data(), mean.data(), 2, sd);
  };
  for (int k = 0; k < 2; ++k) c.analytic.push_back((x[k] - c.point[k]) / (sd * sd));
  return c;
}

// y = lo + (1 - lo) sigmoid(x), the sigmoid reward baseline's squashing.
GradientCase bounded_sigmoid_case() {
  const int B = 3, N = 4;
  const double lo = -0.6;
  GradientCase c;
  const ParamSlot x = c.layout.weight("x", B, N);
  c.point = uniform(x.size(), 41, 4.0);
  const std::vector<double> dy = uniform(x.size(), 42);
  auto forward = [=](const std::vector<double>& p) {
    Mat<double> y = view(p.data(), x);
    bounded_sigmoid_forward(y, lo);
    return y;
  };
  c.loss = [=](const std::vector<double>& p) { return project(forward(p), dy); };
  c.analytic = dy;
  bounded_sigmoid_backward(forward(c.point), view(c.analytic.data(), x), lo);
  return c;
}

// d/dz log Bernoulli(s; sigmoid(z)) = s - sigmoid(z): the stop policy's REINFORCE term relies on
// it. Logits of both signs and up to |z| = 8 reach both branches of log_sigmoid.
GradientCase bernoulli_logit_log_prob_case() {
  GradientCase c;
  c.layout.bias("z", 6);
  c.point = {-8.0, -1.5, -0.2, 0.4, 2.5, 7.0};
  c.loss = [](const std::vector<double>& z) {
    double s = 0;
    for (std::size_t i = 0; i < z.size(); ++i) s += bernoulli_logit_log_prob(z[i], i % 2 == 0);
    return s;
  };
  for (std::size_t i = 0; i < c.point.size(); ++i)
    c.analytic.push_back((i % 2 == 0 ? 1.0 : 0.0) - 1 / (1 + std::exp(-c.point[i])));
  return c;
}

// 9x9 images, 2 filters of 3x3 at stride 2; loss = sum y .* g. The input is data (no gradient).
GradientCase conv2d_case() {
  const Conv2dShape shape{9, 9, 3, 2};
  const int B = 3, F = 2, kk = 9, P = shape.positions();
  std::vector<float> images;
  for (double v : uniform(static_cast<std::size_t>(B) * 81, 51)) images.push_back(float(v));
  Mat<double> patches;
  conv2d_patches(images.data(), B, shape, patches);
  GradientCase c;
  const ParamSlot W = c.layout.weight("weight", kk, F), b = c.layout.bias("bias", F);
  c.point = uniform(c.layout.total(), 52);
  const std::vector<double> g = uniform(static_cast<std::size_t>(B) * P * F, 53);
  c.loss = [=](const std::vector<double>& p) {
    Mat<double> y(B, P * F);
    conv2d_forward<double>(patches, view(p.data(), W), row(p.data(), b), y);
    return project(y, g);
  };
  c.analytic.assign(c.layout.total(), 0.0);
  conv2d_backward_params<double>(patches, Mat<double>(ConstMatMap<double>(g.data(), B, P * F)),
                                 view(c.analytic.data(), W), row(c.analytic.data(), b));
  return c;
}

// ---------------------------------------------------------------------------------------------
// Cores: the parameters, the glimpse feature g and the previous state.

GradientCase relu_core_case() {
  const int B = 4, G = 5, H = 6;
  auto core = std::make_shared<ReluCore<double>>(G, H);
  GradientCase c;
  core->add_parameters(c.layout);
  const std::size_t parameters = c.layout.total();
  const ParamSlot g = c.layout.weight("g", B, G), prev = c.layout.weight("state_prev", B, H);
  c.point = uniform(c.layout.total(), 61, 0.7);
  const std::vector<double> dstate_in = uniform(static_cast<std::size_t>(B) * H, 62);
  auto forward = [=](const std::vector<double>& p) {
    Mat<double> state(B, H);
    core->forward(p.data(), view(p.data(), g), view(p.data(), prev),
                  MatMap<double>(state.data(), B, H), MatMap<double>(nullptr, B, 0));
    return state;
  };
  c.loss = [=](const std::vector<double>& p) { return project(forward(p), dstate_in); };
  const Mat<double> state = forward(c.point);
  c.valid = [=, ref = relu_pattern(state)](const std::vector<double>& p) {
    return relu_pattern(forward(p)) == ref;
  };
  // Both branches of the ReLU are checked.
  EXPECT_GT((state.array() > 0).count(), 0);
  EXPECT_GT((state.array() == 0).count(), 0);

  // Parameter gradients accumulate onto a prior buffer; dg and dstate_prev overwrite theirs.
  const std::vector<double> prior = uniform(c.layout.total(), 63);
  c.analytic = prior;
  std::vector<double> dstate = dstate_in;  // overwritten by backward_step
  Mat<double> dpre(B, H);
  const double* point = c.point.data();
  core->backward_step(point, view(point, prev), ConstMatMap<double>(state.data(), B, H),
                      ConstMatMap<double>(nullptr, B, 0), MatMap<double>(dstate.data(), B, H),
                      MatMap<double>(dpre.data(), B, H), view(c.analytic.data(), prev));
  core->backward_params(point, c.analytic.data(), view(point, g), view(point, prev),
                        ConstMatMap<double>(dpre.data(), B, H), view(c.analytic.data(), g));
  for (std::size_t i = 0; i < parameters; ++i) c.analytic[i] -= prior[i];
  return c;
}

// Backpropagation through time over 4 steps from a random state_0:
//   loss = sum_t <w_t, h_t> + <v, c_T>.
GradientCase lstm_core_case() {
  constexpr int B = 3, G = 4, H = 5, Steps = 4;
  auto core = std::make_shared<LstmCore<double>>(G, H);
  GradientCase c;
  core->add_parameters(c.layout);
  std::vector<ParamSlot> input;
  for (int t = 0; t < Steps; ++t)
    input.push_back(c.layout.weight("g[" + std::to_string(t) + "]", B, G));
  const ParamSlot state0 = c.layout.weight("state_0", B, 2 * H);
  c.point = uniform(c.layout.total(), 71, 0.8);
  for (const ParamSlot& s : input)
    for (std::size_t i = s.offset; i < s.offset + s.size(); ++i) c.point[i] *= 1.5 / 0.8;
  std::vector<Mat<double>> weights;
  for (int t = 0; t < Steps; ++t) weights.push_back(random_mat(B, H, 72 + t));
  const Mat<double> cell_weight = random_mat(B, H, 79);

  struct Episode {
    std::vector<Mat<double>> state, cache;
    double loss = 0;
  };
  auto run = [=](const std::vector<double>& p) {
    Episode e{std::vector<Mat<double>>(Steps + 1, Mat<double>(B, 2 * H)),
              std::vector<Mat<double>>(Steps, Mat<double>(B, 5 * H))};
    e.state[0] = view(p.data(), state0);
    for (int t = 0; t < Steps; ++t) {
      core->forward(p.data(), view(p.data(), input[t]),
                    ConstMatMap<double>(e.state[t].data(), B, 2 * H),
                    MatMap<double>(e.state[t + 1].data(), B, 2 * H),
                    MatMap<double>(e.cache[t].data(), B, 5 * H));
      e.loss += (e.state[t + 1].leftCols(H).array() * weights[t].array()).sum();
    }
    e.loss += (e.state[Steps].rightCols(H).array() * cell_weight.array()).sum();
    return e;
  };
  c.loss = [=](const std::vector<double>& p) { return run(p).loss; };

  // Back through time step by step, then the parameter gradients of all steps at once: the
  // steps' inputs, previous states and dz stacked into Steps*B rows, as the model does.
  Episode e = run(c.point);
  c.analytic.assign(c.layout.total(), 0.0);
  Mat<double> dstate(B, 2 * H), dprev(B, 2 * H), dz(Steps * B, 4 * H);
  dstate.leftCols(H).setZero();
  dstate.rightCols(H) = cell_weight;
  for (int t = Steps - 1; t >= 0; --t) {
    dstate.leftCols(H) += weights[t];
    core->backward_step(c.point.data(), ConstMatMap<double>(e.state[t].data(), B, 2 * H),
                        ConstMatMap<double>(e.state[t + 1].data(), B, 2 * H),
                        ConstMatMap<double>(e.cache[t].data(), B, 5 * H),
                        MatMap<double>(dstate.data(), B, 2 * H),
                        MatMap<double>(dz.middleRows(t * B, B).data(), B, 4 * H),
                        MatMap<double>(dprev.data(), B, 2 * H));
    std::swap(dstate, dprev);
  }
  Mat<double> inputs(Steps * B, G), states(Steps * B, 2 * H), dg(Steps * B, G);
  for (int t = 0; t < Steps; ++t) {
    inputs.middleRows(t * B, B) = view(std::as_const(c.point).data(), input[t]);
    states.middleRows(t * B, B) = e.state[t];
  }
  core->backward_params(
      c.point.data(), c.analytic.data(), ConstMatMap<double>(inputs.data(), Steps * B, G),
      ConstMatMap<double>(states.data(), Steps * B, 2 * H),
      ConstMatMap<double>(dz.data(), Steps * B, 4 * H), MatMap<double>(dg.data(), Steps * B, G));
  for (int t = 0; t < Steps; ++t) view(c.analytic.data(), input[t]) = dg.middleRows(t * B, B);
  view(c.analytic.data(), state0) = dstate;
  return c;
}

// ---------------------------------------------------------------------------------------------
// recurrent_attention.h: the glimpse network and the heads.

// g = ReLU(ReLU(rho W + b) W' + ReLU(l V + c) V' + b'); loss = sum g .* dg. The glimpse rho and
// the location l are data (no gradient).
GradientCase glimpse_network_case() {
  const int B = 4, R = 8, Hg = 5, Hl = 4, F = 6;
  auto net = std::make_shared<GlimpseNetwork<double>>(R, Hg, Hl, F);
  GradientCase c;
  net->add_parameters(c.layout);
  c.point = uniform(c.layout.total(), 81, 0.7);
  const Mat<double> glimpse = random_mat(B, R, 82), location = random_mat(B, 2, 83);
  const std::vector<double> dfeature_in = uniform(static_cast<std::size_t>(B) * F, 84);
  struct Out {
    Mat<double> hidden_glimpse, hidden_location, feature;
  };
  auto forward = [=](const std::vector<double>& p) {
    Out o{Mat<double>(B, Hg), Mat<double>(B, Hl), Mat<double>(B, F)};
    net->forward(p.data(), cmap(glimpse), cmap(location), map(o.hidden_glimpse),
                 map(o.hidden_location), map(o.feature));
    return o;
  };
  c.loss = [=](const std::vector<double>& p) { return project(forward(p).feature, dfeature_in); };
  const Out ref = forward(c.point);
  c.valid = [=, ref_pattern = relu_pattern(ref.hidden_glimpse, ref.hidden_location, ref.feature)](
                const std::vector<double>& p) {
    const Out o = forward(p);
    return relu_pattern(o.hidden_glimpse, o.hidden_location, o.feature) == ref_pattern;
  };
  c.analytic.assign(c.layout.total(), 0.0);
  Mat<double> dfeature = ConstMatMap<double>(dfeature_in.data(), B, F), dhidden_glimpse,
              dhidden_location;
  net->backward(c.point.data(), c.analytic.data(), cmap(glimpse), cmap(location),
                cmap(ref.hidden_glimpse), cmap(ref.hidden_location), cmap(ref.feature),
                map(dfeature), dhidden_glimpse, dhidden_location);
  return c;
}

// A head's case: the parameters of a small body (glimpse network and ReLU core, which the head
// does not read) and, when the head passes a gradient back, its input h [B x H].
constexpr int kHeadRows = 4, kHeadH = 5;

struct HeadCase {
  std::shared_ptr<const RecurrentAttention<double>> body;
  GradientCase c;
  ParamSlot h;  // the point's h, or a fixed h when it is not an input
  Mat<double> fixed_h;

  HeadCase(const std::string& head, bool h_is_input, std::uint64_t seed) {
    AttentionConfig sizes;
    sizes.retina = {4, 1};
    sizes.glimpse_hidden = sizes.location_hidden = 3;
    sizes.glimpse_features = 4;
    sizes.core_size = kHeadH;
    auto b = std::make_shared<RecurrentAttention<double>>(sizes, /*actions=*/3);
    b->add_parameters(c.layout);
    body = b;
    if (h_is_input) h = c.layout.weight("h", kHeadRows, kHeadH);
    c.point = uniform(c.layout.total(), seed);
    fixed_h = random_mat(kHeadRows, kHeadH, seed + 1);
    for (const char* other : {"glimpse.", "core.", "location.", "action.", "baseline."})
      if (head != other) c.unreached.push_back(other);
  }
  // A one-step tape whose state 0 is h at p.
  EpisodeTape<double> tape(const std::vector<double>& p) const {
    EpisodeTape<double> t;
    body->start(t, 1, kHeadRows);
    t.state[0] = h.size() > 0 ? Mat<double>(view(p.data(), h)) : fixed_h;
    return t;
  }
  // dLoss/dh from the tape's dstate, into the analytic gradient.
  void take_dh(const EpisodeTape<double>& t) {
    view(c.analytic.data(), h) = t.dstate.leftCols(kHeadH);
  }
};

// REINFORCE of the location policy, loss = -sum_i a_i log N(l_i; tanh(h W_l + b_l), std^2), with
// raw samples l some of them outside [-1, 1]; the gradient reaches h (reinforce_trains_core).
GradientCase location_head_case() {
  HeadCase hc("location.", true, 91);
  const double sd = 0.3;
  const Mat<double> sample = random_mat(kHeadRows, 2, 93, 1.4);
  const Mat<double> advantage = random_mat(kHeadRows, 1, 94);
  auto tape = [hc, sample](const std::vector<double>& p) {
    EpisodeTape<double> t = hc.tape(p);
    hc.body->location_mean(p.data(), t, 0);
    t.sample[0] = sample;
    return t;
  };
  hc.c.loss = [=](const std::vector<double>& p) {
    const EpisodeTape<double> t = tape(p);
    double s = 0;
    for (int i = 0; i < kHeadRows; ++i)
      s -= advantage(i, 0) *
           gaussian_log_density(sample.row(i).data(), t.mean[0].row(i).data(), 2, sd);
    return s;
  };
  EpisodeTape<double> t = tape(hc.c.point);
  hc.c.analytic.assign(hc.c.layout.total(), 0.0);
  hc.body->start_backward(t, kHeadRows);
  const Mat<double> dpre =
      hc.body->location_backward(t, 0, advantage, 1 / (sd * sd), hc.c.analytic.data());
  hc.body->location_into_state(hc.c.point.data(), dpre, t);
  hc.take_dh(t);
  return hc.c;
}

// logits = h W_a + b_a; loss = sum logits .* dlogits. The gradient reaches h.
GradientCase action_head_case() {
  HeadCase hc("action.", true, 101);
  const Mat<double> dlogits = random_mat(kHeadRows, 3, 103);
  auto logits = [hc](const std::vector<double>& p) {
    Mat<double> out(kHeadRows, 3);
    hc.body->action_logits(p.data(), hc.tape(p), 0, out);
    return out;
  };
  hc.c.loss = [=](const std::vector<double>& p) {
    return (logits(p).array() * dlogits.array()).sum();
  };
  EpisodeTape<double> t = hc.tape(hc.c.point);
  hc.c.analytic.assign(hc.c.layout.total(), 0.0);
  hc.body->start_backward(t, kHeadRows);
  t.dstate.setConstant(7.0);  // overwritten without accumulate
  hc.body->action_backward(hc.c.point.data(), t, 0, dlogits, hc.c.analytic.data(), false);
  hc.take_dh(t);
  return hc.c;
}

// b = h w_b + c_b; loss = sum b .* db. h is detached: the baseline trains itself only.
GradientCase baseline_head_case() {
  HeadCase hc("baseline.", false, 111);
  const Mat<double> dbase = random_mat(kHeadRows, 1, 113);
  hc.c.loss = [=](const std::vector<double>& p) {
    Mat<double> b(kHeadRows, 1);
    hc.body->baseline(p.data(), hc.tape(p), 0, b);
    return (b.array() * dbase.array()).sum();
  };
  hc.c.analytic.assign(hc.c.layout.total(), 0.0);
  hc.body->baseline_backward(hc.tape(hc.c.point), 0, dbase, hc.c.analytic.data());
  return hc.c;
}

const GradientCaseEntry kNnCases[] = {
    {"linear", linear_case},
    {"relu", relu_case},
    {"softmax_cross_entropy", softmax_cross_entropy_case},
    {"gaussian_log_density", gaussian_log_density_case},
    {"bounded_sigmoid", bounded_sigmoid_case},
    {"bernoulli_logit_log_prob", bernoulli_logit_log_prob_case},
    {"conv2d", conv2d_case},
    {"relu_core", relu_core_case},
    {"lstm_core_through_time", lstm_core_case},
    {"glimpse_network", glimpse_network_case},
    {"location_head", location_head_case},
    {"action_head", action_head_case},
    {"baseline_head", baseline_head_case},
};
INSTANTIATE_TEST_SUITE_P(Nn, GradientCheck, ::testing::ValuesIn(kNnCases), gradient_case_name);

}  // namespace
}  // namespace ram::test
