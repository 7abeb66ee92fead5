#include "ram/viz/scatter_plot.h"

#include <gtest/gtest.h>

#include <limits>

#include "ram/util/error.h"

namespace ram::viz {
namespace {

std::vector<CircleItem> markers(const Canvas& canvas, Rgb colour) {
  std::vector<CircleItem> out;
  for (const CanvasItem& item : canvas.items())
    if (const auto* c = std::get_if<CircleItem>(&item); c && c->colour == colour) out.push_back(*c);
  return out;
}

TEST(ScatterPlot, DrawsEverySeriesInItsColourAndSpansTheData) {
  const Rgb a{10, 200, 10}, b{200, 10, 200};
  const Canvas canvas = scatter_plot(
      {{"first", a, {{0, 0, "p"}, {1, 1, ""}}, true}, {"second", b, {{1, 0, ""}}, false}},
      {"title", "x", "y"}, 400, 300);
  EXPECT_EQ(canvas.width(), 400);
  EXPECT_EQ(canvas.height(), 300);
  const std::vector<CircleItem> first = markers(canvas, a), second = markers(canvas, b);
  ASSERT_EQ(first.size(), 2u);
  ASSERT_EQ(second.size(), 1u);
  // The lowest-left point (0, 0) sits near the bottom-left corner of the axes (5% padding), the
  // point (1, 1) up and to the right of it, level with (1, 0) in x.
  EXPECT_GT(first[0].centre.x, 80);
  EXPECT_LT(first[0].centre.x, 120);
  EXPECT_GT(first[0].centre.y, 200);
  EXPECT_LT(first[1].centre.y, first[0].centre.y);
  EXPECT_DOUBLE_EQ(first[1].centre.x, second[0].centre.x);
  int lines = 0;
  for (const CanvasItem& item : canvas.items())
    if (const auto* p = std::get_if<PathItem>(&item); p && p->colour == a) ++lines;
  EXPECT_EQ(lines, 1);  // the joined series only
  bool label = false, title = false, vertical_y_label = false;
  for (const TextItem& t : canvas.texts()) {
    label = label || (t.text == "p" && t.colour == a);
    title = title || t.text == "title";
    vertical_y_label = vertical_y_label || (t.text == "y" && t.style.vertical);
  }
  EXPECT_TRUE(label);
  EXPECT_TRUE(title);
  EXPECT_TRUE(vertical_y_label);
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
