#include "ram/viz/curves.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include "support/test_support.h"

namespace ram::viz {
namespace {

std::optional<TextItem> find_text(const Canvas& canvas, const std::string& text) {
  for (const TextItem& t : canvas.texts())
    if (t.text == text) return t;
  return std::nullopt;
}

bool has_text_containing(const Canvas& canvas, const std::string& part) {
  const auto texts = canvas.texts();
  return std::any_of(texts.begin(), texts.end(),
                     [&](const TextItem& t) { return t.text.find(part) != std::string::npos; });
}

// The points of the lines drawn in one colour (the series; legend swatches are two points).
std::vector<Point> line_points(const Canvas& canvas, Rgb colour) {
  std::vector<Point> points;
  for (const CanvasItem& item : canvas.items())
    if (const auto* p = std::get_if<PathItem>(&item);
        p && p->colour == colour && p->points.size() > 2)
      points.insert(points.end(), p->points.begin(), p->points.end());
  return points;
}

std::vector<CircleItem> rings(const Canvas& canvas, Rgb colour) {
  std::vector<CircleItem> out;
  for (const CanvasItem& item : canvas.items())
    if (const auto* c = std::get_if<CircleItem>(&item); c && !c->filled && c->colour == colour)
      out.push_back(*c);
  return out;
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

TEST(NiceTicks, AHairPastARoundNumberGetsNoExtraTick) {
  EXPECT_EQ(nice_ticks(0.0736, 20.000064, 6), (std::vector<double>{0, 5, 10, 15, 20}));
}

TEST(LogTicks, OneTwoFiveCoveringTheRange) {
  const std::vector<double> errors = log_ticks(1.3, 57);
  const std::vector<double> expected = {1, 2, 5, 10, 20, 50, 100};
  ASSERT_EQ(errors.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(errors[i], expected[i], 1e-9);
  // Exactly on a tick: no tick beyond it.
  const std::vector<double> exact = log_ticks(1, 10);
  EXPECT_NEAR(exact.front(), 1, 1e-12);
  EXPECT_NEAR(exact.back(), 10, 1e-9);
  // A narrow range gets every digit.
  const std::vector<double> narrow = log_ticks(1.5, 1.8);
  EXPECT_GE(narrow.size(), 2u);
  EXPECT_LE(narrow.front(), 1.5);
  EXPECT_GE(narrow.back(), 1.8);
  test::expect_error([] { log_ticks(0, 1); }, {"bad range"});
}

TEST(TickLabel, DecimalsFollowTheSpacing) {
  EXPECT_EQ(tick_label(0.05, 0.01), "0.05");
  EXPECT_EQ(tick_label(120, 20), "120");
  EXPECT_EQ(tick_label(-1.5, 0.5), "-1.5");
  EXPECT_EQ(tick_label(-1e-17, 0.5), "0.0");
  EXPECT_EQ(tick_label(2, 0.25), "2.00");
}

TEST(LinePlot, DrawsSeriesWhereTheirValuesAreWithALegend) {
  LinePlot plot{"rising and falling", "epoch", {1, 2, 3, 4}, {}, 1, false, {}};
  plot.series = {{"rising", kBlue, {0, 1, 2, 3}},
                 {"falling", kRed, {3, 2, std::numeric_limits<double>::quiet_NaN(), 0}}};
  const Canvas canvas = draw_line_plot(plot, 400, 300);
  for (const char* text : {"rising", "falling", "epoch", "rising and falling"})
    EXPECT_TRUE(find_text(canvas, text)) << text;
  const std::vector<Point> rising = line_points(canvas, kBlue);
  ASSERT_EQ(rising.size(), 4u);
  EXPECT_GT(rising.front().y, rising.back().y);  // higher values are higher up
  EXPECT_LT(rising.front().x, rising.back().x);
  // The gap splits the falling series: its first two points form a line, the last stands alone.
  EXPECT_TRUE(line_points(canvas, kRed).empty());  // no run of more than two points
  test::expect_error(
      [] {
        draw_line_plot({"p", "x", {1, 2}, {{"short", kRed, {1}}}, 0, false, {}}, 200, 100);
      },
      {"\"short\"", "1 values for 2"});
  test::expect_error(
      [] {
        draw_line_plot({"empty", "x", {}, {}, 0, false, {}}, 200, 100);
      },
      {"\"empty\"", "no points"});
}

TEST(LinePlot, TheLegendMovesToACornerTheLinesLeaveFree) {
  LinePlot falling{"falling",
                   "epoch",
                   {1, 2, 3, 4, 5},
                   {{"legend entry", kBlue, {4, 3, 2, 1, 0}}, {"other", kRed, {4, 3, 2, 1, 0}}},
                   1,
                   false,
                   {}};
  const auto f = find_text(draw_line_plot(falling, 400, 300), "legend entry");
  ASSERT_TRUE(f);
  EXPECT_GT(f->at.x, 200);
  EXPECT_LT(f->at.y, 150);
  // A line rising into the top right corner would be hidden there: the legend moves down.
  LinePlot rising{"rising",
                  "epoch",
                  {1, 2, 3, 4, 5},
                  {{"legend entry", kBlue, {0, 1, 2, 3, 4}}, {"other", kRed, {0, 1, 2, 3, 4}}},
                  1,
                  false,
                  {}};
  const auto r = find_text(draw_line_plot(rising, 400, 300), "legend entry");
  ASSERT_TRUE(r);
  EXPECT_GT(r->at.x, 200);
  EXPECT_GT(r->at.y, 150);
}

TEST(LinePlot, ALogAxisSpreadsTheSmallValues) {
  LinePlot plot{"error", "epoch", {1, 2, 3}, {{"e", kBlue, {50, 5, 0.5}}, {"f", kRed, {1, 1, 1}}},
                1,       true,    {}};
  const Canvas canvas = draw_line_plot(plot, 400, 300);
  const std::vector<Point> points = line_points(canvas, kBlue);
  ASSERT_EQ(points.size(), 3u);
  // Each factor of ten is the same height.
  EXPECT_NEAR(points[1].y - points[0].y, points[2].y - points[1].y, 1e-6);
  for (const char* tick : {"0.5", "1", "10", "50"}) EXPECT_TRUE(find_text(canvas, tick)) << tick;
  // Zero has no place on a log axis: it leaves a gap instead of failing.
  plot.series[0].values = {50, 0, 0.5};
  EXPECT_NO_THROW(draw_line_plot(plot, 400, 300));
}

std::vector<EpochMetrics> three_epochs() {
  std::vector<EpochMetrics> epochs(3);
  const double validation[3] = {0.2, 0.015, 0.017};
  for (int i = 0; i < 3; ++i) {
    epochs[i].epoch = i + 1;
    epochs[i].train_error = 0.5 - 0.1 * i;
    epochs[i].validation_error = validation[i];
    epochs[i].loss = 2.0 - 0.5 * i;
    epochs[i].cross_entropy = 1.8 - 0.5 * i;
    epochs[i].reinforce = -0.1;
    epochs[i].baseline = 0.2;
    epochs[i].learning_rate = 0.001 * (3 - i) / 3;
    epochs[i].seconds = 60 + i;
  }
  return epochs;
}

TEST(RunFigures, FinalBestAndTime) {
  const RunFigures f = run_figures(three_epochs());
  EXPECT_EQ(f.epochs, 3);
  EXPECT_DOUBLE_EQ(f.final_validation_error, 0.017);
  EXPECT_DOUBLE_EQ(f.best_validation_error, 0.015);
  EXPECT_EQ(f.best_epoch, 2);
  EXPECT_DOUBLE_EQ(f.seconds, 183);
  EXPECT_THROW(run_figures({}), Error);
  EXPECT_EQ(run_name("runs/m6/"), "m6");
  EXPECT_EQ(run_name("runs/m6"), "m6");
  EXPECT_EQ(run_name("docs/final-models/translated60-8g-s1.csv"), "translated60-8g-s1");
  EXPECT_EQ(metrics_file("runs/m6"), "runs/m6/metrics.csv");
  EXPECT_EQ(metrics_file("a/b.csv"), "a/b.csv");
}

TEST(TrainingCurves, MarkTheBestEpochAndTheFinalValueUnderTheRunsName) {
  const Canvas canvas = training_curves(three_epochs(), "my-run");
  EXPECT_TRUE(has_text_containing(canvas, "my-run: training curves, 3 epochs"));
  for (const char* text : {"train error", "validation error", "cross-entropy", "reinforce",
                           "baseline", "total loss", "error (%), log scale", "learning rate"})
    EXPECT_TRUE(find_text(canvas, text)) << text;
  const auto best = find_text(canvas, "best 1.50% (epoch 2)");
  const auto final = find_text(canvas, "final 1.70%");
  ASSERT_TRUE(best);
  ASSERT_TRUE(final);
  // A ring on the validation curve at the best epoch, another at the final one.
  const std::vector<CircleItem> best_rings = rings(canvas, kRed);
  ASSERT_EQ(best_rings.size(), 1u);
  const std::vector<Point> validation = line_points(canvas, kRed);
  ASSERT_EQ(validation.size(), 3u);
  EXPECT_NEAR(best_rings[0].centre.x, validation[1].x, 1e-9);
  EXPECT_NEAR(best_rings[0].centre.y, validation[1].y, 1e-9);
  const std::vector<CircleItem> final_rings = rings(canvas, kAxisColour);
  ASSERT_EQ(final_rings.size(), 1u);
  EXPECT_NEAR(final_rings[0].centre.y, validation[2].y, 1e-9);
  // The learning rate falls in its own panel, below the losses.
  const std::vector<Point> black = line_points(canvas, kAxisColour);  // total loss, rate
  ASSERT_EQ(black.size(), 6u);
  EXPECT_GT(black[3].y, black[0].y);
  EXPECT_LT(black[3].y, black[5].y);
  test::expect_error([] { training_curves({}, "x"); }, {"no epochs"});
}

TEST(TrainingCurves, TheBestEpochLastHasNoSeparateFinalMarker) {
  std::vector<EpochMetrics> epochs = three_epochs();
  epochs[2].validation_error = 0.01;
  const Canvas canvas = training_curves(epochs, "r");
  EXPECT_TRUE(find_text(canvas, "best 1.00% (epoch 3)"));
  EXPECT_FALSE(has_text_containing(canvas, "final 1.00%"));
}

}  // namespace
}  // namespace ram::viz
