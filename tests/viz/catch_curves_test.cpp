#include "ram/viz/catch_curves.h"

#include <gtest/gtest.h>

#include "support/image_support.h"
#include "support/test_support.h"

namespace ram::viz {
namespace {

using ram::test::contains_image;

// Plot text is dark grey on white.
RgbImage plot_text(const std::string& text, int scale = 1) {
  return test::text_image(text, {40, 40, 40}, kWhite, scale);
}

// The lowest row (largest y) holding a pixel of this colour in columns [x0, x1).
int lowest_row(const RgbImage& image, Rgb colour, int x0, int x1) {
  for (int y = image.height() - 1; y >= 0; --y)
    for (int x = x0; x < x1; ++x)
      if (image.at(x, y) == colour) return y;
  return -1;
}

TEST(CatchCurves, PlotsTheCatchRateAgainstTheRandomAgentAndTheEntropy) {
  std::vector<CatchMetrics> history(4);
  for (int i = 0; i < 4; ++i) {
    history[i].frames = static_cast<std::uint64_t>(i + 1) * 500'000;
    history[i].catch_rate = 0.1 + 0.25 * i;  // rises well above the random agent's 8%
    history[i].entropy = -CatchGames::kFrames * (1.0 - 0.2 * i);
  }
  const RgbImage image = catch_curves(history, 0.08);
  for (const char* text :
       {"training episodes", "random agent", "entropy", "uniform policy", "million frames"})
    EXPECT_TRUE(contains_image(image, plot_text(text))) << text;
  EXPECT_TRUE(contains_image(image, plot_text("catch rate (%)", 2)));
  // In the catch-rate plot the random agent's line lies below every point of the learning curve
  // (ignore the legend at the top).
  const int half = image.width() / 2;
  EXPECT_GT(lowest_row(image, kRed, 0, half), lowest_row(image, kBlue, 0, half));
  test::expect_error([] { catch_curves({}, 0.08); }, {"no metrics"});
}

}  // namespace
}  // namespace ram::viz
