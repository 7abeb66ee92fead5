#include "ram/viz/scatter_plot.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "ram/util/error.h"

namespace ram::viz {
namespace {

int count_colour(const RgbImage& image, Rgb colour) {
  int n = 0;
  for (int y = 0; y < image.height(); ++y)
    for (int x = 0; x < image.width(); ++x) n += image.at(x, y) == colour;
  return n;
}

TEST(ScatterPlot, DrawsEverySeriesInItsColourAndSpansTheData) {
  const Rgb a{10, 200, 10}, b{200, 10, 200};
  const RgbImage image = scatter_plot(
      {{"first", a, {{0, 0, "p"}, {1, 1, ""}}, true}, {"second", b, {{1, 0, ""}}, false}},
      {"title", "x", "y"}, 400, 300);
  EXPECT_EQ(image.width(), 400);
  EXPECT_EQ(image.height(), 300);
  // Point markers are 9x9 squares; the joined series also has a line and a label, and each
  // series a legend swatch.
  EXPECT_GT(count_colour(image, a), 2 * 81 + 14 * 9);
  EXPECT_GE(count_colour(image, b), 81 + 14 * 9);
  // The lowest-left point (0, 0) sits near the bottom-left corner of the axes (5% padding).
  bool found = false;
  for (int y = 200; y < 250 && !found; ++y)
    for (int x = 80; x < 120 && !found; ++x) found = image.at(x, y) == a;
  EXPECT_TRUE(found);
}

TEST(ScatterPlot, RejectsNoPointsAndNonFiniteValues) {
  EXPECT_THROW(scatter_plot({}, {}), Error);
  EXPECT_THROW(scatter_plot({{"s", kRed, {}, true}}, {}), Error);
  EXPECT_THROW(
      scatter_plot({{"s", kRed, {{std::numeric_limits<double>::quiet_NaN(), 1, ""}}, true}}, {}),
      Error);
  // A single point (zero span) still gives a picture.
  EXPECT_NO_THROW(scatter_plot({{"s", kRed, {{3, 3, ""}}, true}}, {}));
}

}  // namespace
}  // namespace ram::viz
