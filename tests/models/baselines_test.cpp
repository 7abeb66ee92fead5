// The baseline networks and the conv2d layer: the convolution's geometry against a direct loop,
// the networks' shapes, and deterministic training and thread-independent evaluation through the
// shared trainer. Their gradients against finite differences are in the tables of
// tests/nn/gradient_check_test.cpp (conv2d) and tests/models/model_gradient_check_test.cpp.
#include "ram/models/baselines.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "ram/nn/layers.h"
#include "ram/train/train.h"
#include "ram/util/error.h"
#include "ram/util/thread_pool.h"
#include "support/test_support.h"
#include "support/training_support.h"

namespace {

using ram::BaselineConfig;
using ram::BaselineModel;
using ram::Mat;

std::vector<float> random_images(int count, int pixels, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::vector<float> images(static_cast<std::size_t>(count) * pixels);
  for (float& p : images) p = u(gen);
  return images;
}

TEST(Conv2d, PatchesAndForwardMatchADirectConvolution) {
  const ram::Conv2dShape shape{13, 11, 4, 3};  // 4 x 3 positions; the last rows/columns unseen
  ASSERT_EQ(shape.out_height(), 4);
  ASSERT_EQ(shape.out_width(), 3);
  const int B = 2, F = 3, kk = 16;
  const std::vector<float> images = random_images(B, 13 * 11, 5);
  Mat<double> patches;
  ram::conv2d_patches(images.data(), B, shape, patches);
  ASSERT_EQ(patches.rows(), B * 12);
  ASSERT_EQ(patches.cols(), kk);
  std::mt19937 gen(6);
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<double> w(kk * F), b(F);
  for (double& x : w) x = u(gen);
  for (double& x : b) x = u(gen);
  Mat<double> y(B, 12 * F);
  ram::conv2d_forward<double>(patches, ram::ConstMatMap<double>(w.data(), kk, F),
                              ram::ConstRowVecMap<double>(b.data(), F), y);
  for (int i = 0; i < B; ++i)
    for (int oy = 0; oy < 4; ++oy)
      for (int ox = 0; ox < 3; ++ox)
        for (int f = 0; f < F; ++f) {
          double direct = b[f];
          for (int dy = 0; dy < 4; ++dy)
            for (int dx = 0; dx < 4; ++dx)
              direct +=
                  images[i * 143 + (oy * 3 + dy) * 11 + ox * 3 + dx] * w[(dy * 4 + dx) * F + f];
          EXPECT_NEAR(y(i, (oy * 3 + ox) * F + f), direct, 1e-5);
        }
}

TEST(BaselineModel, ShapesFollowThePaper) {
  BaselineConfig c;
  c.architecture = "conv";
  c.image_height = c.image_width = 60;
  const BaselineModel<float> conv60(c);
  // 11 x 11 positions of 16 filters, then 256 units.
  EXPECT_EQ(conv60.parameter_count(), 100u * 16 + 16 + 11 * 11 * 16 * 256 + 256 + 256 * 10 + 10);
  c.image_height = c.image_width = 100;
  EXPECT_EQ(c.hidden_units(), 86);
  c.architecture = "fc64";
  EXPECT_EQ(c.hidden_units(), 64);
  c.architecture = "fc256";
  c.image_height = c.image_width = 28;
  const BaselineModel<float> fc(c);
  EXPECT_EQ(fc.parameter_count(), 784u * 256 + 256 + 256 * 256 + 256 + 256 * 10 + 10);
  c.architecture = "mlp";
  EXPECT_THROW(BaselineModel<float>{c}, ram::Error);
  c.architecture = "conv";
  c.image_height = 8;  // smaller than the 10x10 filter
  EXPECT_THROW(BaselineModel<float>{c}, ram::Error);
}

ram::TrainValidation tiny_data() {
  return ram::test::random_data(90, 40);
}

ram::TrainingConfig tiny_baseline_config(const std::string& architecture) {
  ram::TrainingConfig c = ram::test::tiny_translated_config(36, 1);
  c.architecture = architecture;
  c.batch_size = 16;
  c.conv_filters = 4;
  return c;
}

TEST(BaselineTraining, SameSeedSameThreadsIsBitIdenticalAndEvaluationIgnoresThreads) {
  const ram::TrainValidation data = tiny_data();
  for (const char* architecture : {"fc64", "conv"}) {
    SCOPED_TRACE(architecture);
    for (int threads : {1, 2}) {
      ram::TrainingConfig config = tiny_baseline_config(architecture);
      config.threads = threads;
      const ram::TrainResult a = ram::train(config, data, "", ram::RunStart::fresh);
      const ram::TrainResult b = ram::train(config, data, "", ram::RunStart::fresh);
      ASSERT_EQ(a.parameters.size(), ram::parameter_count(config));
      EXPECT_EQ(a.parameters, b.parameters);
      ASSERT_EQ(a.epochs.size(), 2u);
      EXPECT_EQ(a.epochs.back().validation_error, b.epochs.back().validation_error);
      std::vector<float> initial(a.parameters.size());
      ram::initialize_parameters(config, initial);
      EXPECT_NE(a.parameters, initial);

      const ram::ImageSet rendered = ram::render_evaluation_set(config, data.validation);
      const ram::EvalOptions options = ram::evaluation_options(config, false, 1);
      ram::ThreadPool one(1), three(3);
      const ram::EvalResult e1 =
          ram::evaluate_trained(config, a.parameters, rendered, options, one);
      const ram::EvalResult e3 =
          ram::evaluate_trained(config, a.parameters, rendered, options, three);
      EXPECT_EQ(e1.errors, e3.errors);
      EXPECT_EQ(e1.confusion, e3.confusion);
      EXPECT_EQ(e1.cross_entropy, e3.cross_entropy);
      EXPECT_DOUBLE_EQ(e1.error(), a.epochs.back().validation_error);
    }
  }
}

TEST(BaselineTraining, SavedModelLoadsBackWithItsArchitecture) {
  const ram::test::TempDir temp;
  const std::string dir = temp.sub("run");
  ram::TrainingConfig config = tiny_baseline_config("conv");
  config.epochs = 1;
  const ram::TrainResult r = ram::train(config, tiny_data(), dir, ram::RunStart::fresh);
  const ram::SavedModel saved = ram::load_model(dir + "/model.ram");
  EXPECT_EQ(saved.config.architecture, "conv");
  EXPECT_EQ(saved.config.conv_filters, 4);
  EXPECT_EQ(saved.parameters, r.parameters);
  ASSERT_EQ(saved.history.size(), 1u);
}

TEST(BaselineTraining, RandomGlimpsesAreForRamOnly) {
  ram::TrainingConfig config = tiny_baseline_config("fc256");
  config.random_glimpses = true;
  EXPECT_THROW(ram::validate(config), ram::Error);
  config = tiny_baseline_config("lenet");
  EXPECT_THROW(ram::validate(config), ram::Error);
}

}  // namespace
