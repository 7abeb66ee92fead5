// The classifier's episode: which draws are used where, the first policy, clipping, float/double
// agreement, independence from batch composition and buffer placement, the configuration file.
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

}  // namespace
}  // namespace ram::test
