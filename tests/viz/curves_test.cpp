#include "ram/viz/curves.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "support/image_support.h"
#include "support/test_support.h"

namespace ram::viz {
namespace {

using ram::test::contains_image;

RgbImage text_on_white(const std::string& text, Rgb colour, int scale = 1) {
  return test::text_image(text, colour, kWhite, scale);
}

// The mean position of the pixels of one colour, or (-1, -1) if there are none.
std::pair<double, double> centroid(const RgbImage& image, Rgb colour, int x0, int x1) {
  double sx = 0, sy = 0, n = 0;
  for (int y = 0; y < image.height(); ++y)
    for (int x = x0; x < x1; ++x)
      if (image.at(x, y) == colour) sx += x, sy += y, ++n;
  return n ? std::pair{sx / n, sy / n} : std::pair{-1.0, -1.0};
}

TEST(NiceTicks, RoundValuesCoveringTheRange) {
  EXPECT_EQ(nice_ticks(0, 10, 5), (std::vector<double>{0, 2, 4, 6, 8, 10}));
  const std::vector<double> small = nice_ticks(0.013, 0.087, 5);
  ASSERT_EQ(small.size(), 9u);
  EXPECT_NEAR(small.front(), 0.01, 1e-12);
  EXPECT_NEAR(small.back(), 0.09, 1e-12);
  EXPECT_EQ(nice_ticks(-3, 7, 2), (std::vector<double>{-5, 0, 5, 10}));
  // One epoch: the range is widened, and epochs are never split below 1.
  EXPECT_EQ(nice_ticks(1, 1, 6, 1), (std::vector<double>{0, 1, 2}));
  EXPECT_EQ(nice_ticks(1, 150, 6, 1), (std::vector<double>{0, 20, 40, 60, 80, 100, 120, 140, 160}));
  test::expect_error([] { nice_ticks(std::nan(""), 1, 5); }, {"bad range"});
}

TEST(TickLabel, DecimalsFollowTheSpacing) {
  EXPECT_EQ(tick_label(0.05, 0.01), "0.05");
  EXPECT_EQ(tick_label(120, 20), "120");
  EXPECT_EQ(tick_label(-1.5, 0.5), "-1.5");
  EXPECT_EQ(tick_label(-1e-17, 0.5), "0.0");
  EXPECT_EQ(tick_label(2, 0.25), "2.00");
}

TEST(LinePlot, DrawsSeriesWhereTheirValuesAreWithALegend) {
  LinePlot plot{"rising and falling", "epoch", {1, 2, 3, 4}, {}, 1};
  plot.series = {{"rising", kBlue, {0, 1, 2, 3}},
                 {"falling", kRed, {3, 2, std::numeric_limits<double>::quiet_NaN(), 0}}};
  const RgbImage image = draw_line_plot(plot, 400, 300);
  EXPECT_TRUE(contains_image(image, text_on_white("rising", {40, 40, 40})));
  EXPECT_TRUE(contains_image(image, text_on_white("falling", {40, 40, 40})));
  EXPECT_TRUE(contains_image(image, text_on_white("epoch", {40, 40, 40})));
  // Left half against right half (the legend's swatches are top right: leave out the top).
  const auto rising_left = centroid(image, kBlue, 0, 200);
  const auto rising_right = centroid(image, kBlue, 200, 400);
  const auto falling_left = centroid(image, kRed, 0, 200);
  EXPECT_GT(rising_left.second, rising_right.second);  // higher values are higher up
  EXPECT_LT(falling_left.second, rising_left.second);
  test::expect_error(
      [] {
        draw_line_plot({"p", "x", {1, 2}, {{"short", kRed, {1}}}, 0}, 200, 100);
      },
      {"\"short\"", "1 values for 2"});
  test::expect_error(
      [] {
        draw_line_plot({"empty", "x", {}, {}, 0}, 200, 100);
      },
      {"\"empty\"", "no points"});
}

TEST(LinePlot, TheLegendMovesToACornerTheLinesLeaveFree) {
  const RgbImage legend = text_on_white("legend entry", {40, 40, 40});
  // Falling lines leave the top right free: the legend stays there.
  LinePlot falling{
      "falling", "epoch", {1, 2, 3, 4, 5}, {{"legend entry", kBlue, {4, 3, 2, 1, 0}}}, 1};
  const auto [fx, fy] = test::find_image(draw_line_plot(falling, 400, 300), legend);
  EXPECT_GT(fx, 200);
  EXPECT_LT(fy, 150);
  // A line rising into the top right corner would be hidden there: the legend moves down.
  LinePlot rising{
      "rising", "epoch", {1, 2, 3, 4, 5}, {{"legend entry", kBlue, {0, 1, 2, 3, 4}}}, 1};
  const auto [rx, ry] = test::find_image(draw_line_plot(rising, 400, 300), legend);
  EXPECT_GT(rx, 200);
  EXPECT_GT(ry, 150);
}

TEST(NiceTicks, AHairPastARoundNumberGetsNoExtraTick) {
  EXPECT_EQ(nice_ticks(0.0736, 20.000064, 6), (std::vector<double>{0, 5, 10, 15, 20}));
}

TEST(TrainingCurves, PlotsErrorsAndLossesOfEveryEpoch) {
  std::vector<EpochMetrics> epochs(3);
  for (int i = 0; i < 3; ++i) {
    epochs[i].epoch = i + 1;
    epochs[i].train_error = 0.5 - 0.1 * i;
    epochs[i].validation_error = 0.55 - 0.1 * i;
    epochs[i].loss = 2.0 - 0.5 * i;
    epochs[i].cross_entropy = 1.8 - 0.5 * i;
    epochs[i].reinforce = -0.1;
    epochs[i].baseline = 0.2;
  }
  const RgbImage image = training_curves(epochs);
  for (const char* text :
       {"train error", "validation error", "cross-entropy", "reinforce", "baseline", "total loss"})
    EXPECT_TRUE(contains_image(image, text_on_white(text, {40, 40, 40}))) << text;
  EXPECT_TRUE(contains_image(image, text_on_white("error (%)", {40, 40, 40}, 2)));
  test::expect_error([] { training_curves({}); }, {"no epochs"});
}

}  // namespace
}  // namespace ram::viz
