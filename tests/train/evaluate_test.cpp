// evaluate(): the same result for any thread count, a confusion matrix consistent with the error,
// the glimpse histogram of adaptive stopping, and clear errors for mismatched input.
#include "ram/train/evaluate.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "ram/train/train.h"
#include "ram/util/error.h"
#include "ram/util/thread_pool.h"
#include "support/training_support.h"

namespace {

using ram::test::random_digits;
using ram::test::tiny_training_config;

void expect_same_eval(const ram::EvalResult& a, const ram::EvalResult& b) {
  EXPECT_EQ(a.images, b.images);
  EXPECT_EQ(a.errors, b.errors);
  EXPECT_EQ(a.cross_entropy, b.cross_entropy);
  EXPECT_EQ(a.classes, b.classes);
  EXPECT_EQ(a.confusion, b.confusion);
  EXPECT_EQ(a.glimpse_histogram, b.glimpse_histogram);
  EXPECT_EQ(a.glimpses_taken, b.glimpses_taken);
}

void expect_consistent(const ram::EvalResult& r, const ram::ImageSet& images) {
  ASSERT_EQ(r.classes, 10);
  ASSERT_EQ(r.confusion.size(), 100u);
  EXPECT_EQ(r.images, images.size());
  std::size_t total = 0, off_diagonal = 0;
  for (int t = 0; t < 10; ++t) {
    std::size_t row = 0, wrong = 0, label_count = 0;
    for (int p = 0; p < 10; ++p) {
      const std::size_t n = r.confusion[static_cast<std::size_t>(t * 10 + p)];
      row += n;
      if (p != t) wrong += n;
    }
    for (std::uint8_t l : images.labels) label_count += (l == t);
    EXPECT_EQ(row, label_count) << "class " << t;
    const double expected = row ? static_cast<double>(wrong) / static_cast<double>(row) : 0.0;
    EXPECT_DOUBLE_EQ(r.class_error(t), expected) << "class " << t;
    total += row;
    off_diagonal += wrong;
  }
  EXPECT_EQ(total, images.size());
  EXPECT_EQ(off_diagonal, r.errors);
  EXPECT_DOUBLE_EQ(r.error(), static_cast<double>(r.errors) / static_cast<double>(images.size()));
  EXPECT_TRUE(std::isfinite(r.cross_entropy));
  EXPECT_GT(r.cross_entropy, 0.0);
}

TEST(Evaluate, IndependentOfThreadCountAndConsistent) {
  ram::TrainingConfig config = tiny_training_config();
  const ram::RamModel<float> model(config.model);
  std::vector<float> params(model.parameter_count());
  model.initialize(params, 3, 0.5);
  // 150 images: two full chunks of 64 and a partial one.
  const ram::ImageSet images = random_digits(150, 21);
  ram::ThreadPool one(1), two(2), three(3);

  struct Case {
    ram::LocationMode mode;
    int samples;
  };
  for (const Case& k : {Case{ram::LocationMode::sample, 3}, Case{ram::LocationMode::sample, 1},
                        Case{ram::LocationMode::mean, 1}, Case{ram::LocationMode::uniform, 2}}) {
    SCOPED_TRACE("mode " + std::to_string(static_cast<int>(k.mode)) + " samples " +
                 std::to_string(k.samples));
    ram::EvalOptions options;
    options.mode = k.mode;
    options.samples = k.samples;
    options.seed = 77;
    const ram::EvalResult r1 = ram::evaluate(model, params, images, options, one);
    const ram::EvalResult r2 = ram::evaluate(model, params, images, options, two);
    const ram::EvalResult r3 = ram::evaluate(model, params, images, options, three);
    const ram::EvalResult r2again = ram::evaluate(model, params, images, options, two);
    expect_same_eval(r1, r2);
    expect_same_eval(r1, r3);
    expect_same_eval(r2, r2again);
    expect_consistent(r1, images);
  }
}

// The kept probabilities are the ones counted: each row sums to 1, its arg max fills the
// confusion matrix, its label's entry gives the cross-entropy; and keeping them changes nothing.
TEST(Evaluate, KeptProbabilitiesAreTheOnesCounted) {
  const ram::TrainingConfig config = tiny_training_config();
  const ram::RamModel<float> model(config.model);
  std::vector<float> params(model.parameter_count());
  model.initialize(params, 3, 0.5);
  const ram::ImageSet images = random_digits(150, 21);
  ram::ThreadPool two(2);
  ram::EvalOptions options;
  options.samples = 2;
  const ram::EvalResult plain = ram::evaluate(model, params, images, options, two);
  EXPECT_TRUE(plain.probabilities.empty());
  options.keep_probabilities = true;
  const ram::EvalResult kept = ram::evaluate(model, params, images, options, two);
  expect_same_eval(plain, kept);
  ASSERT_EQ(kept.probabilities.size(), images.size() * 10);
  std::vector<std::size_t> confusion(100, 0);
  double cross_entropy = 0;
  for (std::size_t i = 0; i < images.size(); ++i) {
    const float* p = kept.probabilities.data() + i * 10;
    double sum = 0;
    for (int c = 0; c < 10; ++c) sum += p[c];
    EXPECT_NEAR(sum, 1.0, 1e-5) << "image " << i;
    const auto predicted = static_cast<std::size_t>(std::max_element(p, p + 10) - p);
    confusion[images.labels[i] * 10u + predicted]++;
    cross_entropy -= std::log(static_cast<double>(p[images.labels[i]]));
  }
  EXPECT_EQ(confusion, kept.confusion);
  EXPECT_NEAR(cross_entropy / static_cast<double>(images.size()), kept.cross_entropy, 1e-6);
}

TEST(Evaluate, AdaptiveStoppingIndependentOfThreadCountWithAHistogram) {
  const ram::ImageSet images =
      random_digits(150, 21);  // 28x28: tiny_training_config's centred task
  ram::ThreadPool one(1), three(3);
  for (ram::StopMode stop : {ram::StopMode::sample, ram::StopMode::threshold}) {
    SCOPED_TRACE(stop == ram::StopMode::sample ? "sampled stopping" : "thresholded stopping");
    ram::EvalOptions options;
    options.stop = stop;
    options.samples = 2;
    options.seed = 78;
    ram::TrainingConfig small = tiny_training_config();
    small.model.glimpses = 3;
    small.model.adaptive_stopping = true;
    const ram::RamModel<float> m(small.model);
    std::vector<float> p(m.parameter_count());
    m.initialize(p, 3, 0.5);
    const ram::EvalResult r1 = ram::evaluate(m, p, images, options, one);
    const ram::EvalResult r3 = ram::evaluate(m, p, images, options, three);
    expect_same_eval(r1, r3);
    expect_consistent(r1, images);
    ASSERT_EQ(r1.glimpse_histogram.size(), 4u);
    EXPECT_EQ(r1.glimpse_histogram[0], 0u);
    std::size_t episodes = 0;
    for (std::size_t n : r1.glimpse_histogram) episodes += n;
    EXPECT_EQ(episodes, 2 * images.size());
    EXPECT_GE(r1.mean_glimpses(), 1.0);
    EXPECT_LE(r1.mean_glimpses(), 3.0);
    // Each image's first episode: one count per image, which with one sample per image is the
    // histogram itself.
    ASSERT_EQ(r1.glimpses_taken.size(), images.size());
    options.samples = 1;
    const ram::EvalResult single = ram::evaluate(m, p, images, options, three);
    std::vector<std::size_t> histogram(4, 0);
    for (int taken : single.glimpses_taken) histogram[static_cast<std::size_t>(taken)]++;
    EXPECT_EQ(histogram, single.glimpse_histogram);
    EXPECT_EQ(single.glimpses_taken, r1.glimpses_taken);  // episode 0 does not depend on M
    EXPECT_GT(histogram[1] + histogram[2], 0u) << "no episode stopped early: a weak test";
  }
  // A fixed-length model takes all its glimpses.
  const ram::RamModel<float> fixed(tiny_training_config().model);
  std::vector<float> pf(fixed.parameter_count());
  fixed.initialize(pf, 3, 0.5);
  const ram::EvalResult rf = ram::evaluate(fixed, pf, images, {}, one);
  EXPECT_EQ(rf.mean_glimpses(), 2.0);
}

TEST(Evaluate, RejectsMismatchedInput) {
  const ram::TrainingConfig config = tiny_training_config();
  const ram::RamModel<float> model(config.model);
  std::vector<float> params(model.parameter_count());
  model.initialize(params, 3, 0.1);
  ram::ThreadPool pool(2);
  ram::ImageSet wrong_size;
  wrong_size.rows = wrong_size.cols = 20;
  wrong_size.labels = {1, 2};
  wrong_size.pixels.assign(2 * 400, 0.5f);
  EXPECT_THROW(ram::evaluate(model, params, wrong_size, {}, pool), ram::Error);
  ram::ImageSet bad_label = random_digits(3, 4);
  bad_label.labels[1] = 10;
  EXPECT_THROW(ram::evaluate(model, params, bad_label, {}, pool), ram::Error);
  ram::EvalOptions zero;
  zero.samples = 0;
  EXPECT_THROW(ram::evaluate(model, params, random_digits(3, 4), zero, pool), ram::Error);
}

}  // namespace
