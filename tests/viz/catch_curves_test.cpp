#include "ram/viz/catch_curves.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "ram/viz/curves.h"
#include "support/test_support.h"

namespace ram::viz {
namespace {

// The points of the series drawn in one colour in the left half (the catch-rate plot).
std::vector<Point> left_series(const Canvas& canvas, Rgb colour) {
  std::vector<Point> points;
  for (const CanvasItem& item : canvas.items())
    if (const auto* p = std::get_if<PathItem>(&item);
        p && p->colour == colour && p->points.size() > 2 && p->points[0].x < canvas.width() / 2)
      points.insert(points.end(), p->points.begin(), p->points.end());
  return points;
}

TEST(CatchCurves, PlotsTheCatchRateAgainstTheRandomAgentAndTheEntropy) {
  std::vector<CatchMetrics> history(4);
  for (int i = 0; i < 4; ++i) {
    history[i].frames = static_cast<std::uint64_t>(i + 1) * 500'000;
    history[i].catch_rate = 0.1 + 0.25 * i;  // rises well above the random agent's 8%
    history[i].entropy = -CatchGames::kFrames * (1.0 - 0.2 * i);
  }
  const Canvas canvas = catch_curves(history, 0.08);
  std::vector<std::string> texts;
  for (const TextItem& t : canvas.texts()) texts.push_back(t.text);
  for (const char* text : {"training episodes", "random agent", "action entropy (nats per frame)",
                           "uniform policy", "million frames", "catch rate (%)"})
    EXPECT_NE(std::find(texts.begin(), texts.end(), text), texts.end()) << text;
  // In the catch-rate plot the random agent's line lies below every point of the learning curve
  // (larger y is lower).
  const std::vector<Point> random = left_series(canvas, kRed);
  const std::vector<Point> learning = left_series(canvas, kRunColours[0]);
  ASSERT_EQ(random.size(), 4u);
  ASSERT_EQ(learning.size(), 4u);
  for (const Point& p : learning) EXPECT_LT(p.y, random[0].y);
  test::expect_error([] { catch_curves(std::vector<CatchMetrics>{}, 0.08); }, {"no metrics"});
}

// Several runs (ram compare of Catch runs): one colour and legend line each; a shorter run's
// line ends where its metrics end.
TEST(CatchCurves, OneLinePerRunEachInItsColour) {
  std::vector<CatchCurve> runs{{"seed-1", {}}, {"seed-2", {}}};
  for (int i = 0; i < 6; ++i) {
    CatchMetrics m;
    m.frames = static_cast<std::uint64_t>(i + 1) * 100'000;
    m.catch_rate = 0.2 + 0.1 * i;
    m.entropy = -CatchGames::kFrames * 0.8;
    runs[0].metrics.push_back(m);
    if (i < 3) runs[1].metrics.push_back(m);
  }
  const Canvas canvas = catch_curves(runs, 0.08);
  std::vector<std::string> texts;
  for (const TextItem& t : canvas.texts()) texts.push_back(t.text);
  EXPECT_EQ(std::count(texts.begin(), texts.end(), "seed-1"), 2);  // both plots' legends
  EXPECT_EQ(std::count(texts.begin(), texts.end(), "seed-2"), 2);
  EXPECT_EQ(left_series(canvas, kRunColours[0]).size(), 6u);
  EXPECT_EQ(left_series(canvas, kRunColours[1]).size(), 3u);
  test::expect_error([] { catch_curves(std::vector<CatchCurve>{}, 0.08); }, {"no runs"});
  test::expect_error(
      [] {
        catch_curves(std::vector<CatchCurve>{{"empty", {}}}, 0.08);
      },
      {"empty", "no metrics lines"});
}

}  // namespace
}  // namespace ram::viz
