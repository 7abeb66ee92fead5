#include "ram/viz/curves.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "ram/util/error.h"

namespace ram::viz {

namespace {

constexpr Rgb kAxis{40, 40, 40};
constexpr Rgb kGrid{225, 225, 225};
constexpr Rgb kOrange{230, 140, 20};
constexpr Rgb kPurple{150, 60, 200};
constexpr int kLeft = 56, kRight = 16, kTop = 34, kBottom = 40;
constexpr int kTickLength = 4;
constexpr int kMaxMarkedPoints = 40;  // beyond this, dots at every point crowd the lines

struct Range {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();
  void add(double v) {
    if (!std::isfinite(v)) return;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  bool empty() const { return lo > hi; }
};

// Maps a value of [ticks.front(), ticks.back()] onto [from, to] pixels.
struct Axis {
  std::vector<double> ticks;
  int from = 0, to = 0;
  int pixel(double v) const {
    const double lo = ticks.front(), hi = ticks.back();
    return from + static_cast<int>(std::lround((v - lo) / (hi - lo) * (to - from)));
  }
  double step() const { return ticks.size() > 1 ? ticks[1] - ticks[0] : 1.0; }
};

void thick_line(RgbImage& out, int x0, int y0, int x1, int y1, Rgb colour) {
  out.draw_line(x0, y0, x1, y1, colour);
  out.draw_line(x0, y0 + 1, x1, y1 + 1, colour);
}

}  // namespace

std::vector<double> nice_ticks(double lo, double hi, int target, double min_step) {
  if (!std::isfinite(lo) || !std::isfinite(hi) || lo > hi || target < 1)
    throw Error("nice_ticks: bad range [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  if (hi == lo) {
    const double pad = lo != 0 ? std::abs(lo) * 0.5 : 1.0;
    lo -= pad;
    hi += pad;
  }
  const double raw = (hi - lo) / target;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double residual = raw / magnitude;
  double step = (residual < 1.5 ? 1 : residual < 3 ? 2 : residual < 7 ? 5 : 10) * magnitude;
  step = std::max(step, min_step);
  // A value a hair past a round number (20,000,064 frames on a 1e6 scale) does not get a tick
  // of its own.
  const double first = std::floor(lo / step + 1e-4);
  const double last = std::ceil(hi / step - 1e-4);
  std::vector<double> ticks;
  for (double i = first; i <= last; i += 1) {
    const double v = i * step;
    ticks.push_back(std::abs(v) < step * 1e-9 ? 0.0 : v);
  }
  if (ticks.size() < 2) ticks.push_back(ticks.back() + step);
  return ticks;
}

std::string tick_label(double value, double step) {
  // The fewest decimals that write the spacing exactly (0.25 needs two, 20 none).
  int decimals = 0;
  for (double scaled = step; decimals < 12; ++decimals, scaled *= 10)
    if (std::abs(scaled - std::round(scaled)) < 1e-6 * scaled) break;
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, value + 0.0);
  std::string s = text;
  if (s[0] == '-' && s.find_first_not_of("-0.") == std::string::npos) s.erase(0, 1);  // "-0.0"
  return s;
}

RgbImage draw_line_plot(const LinePlot& plot, int width, int height) {
  if (plot.x.empty()) throw Error("plot \"" + plot.title + "\": no points to plot");
  Range xr, yr;
  for (double x : plot.x) xr.add(x);
  for (const Series& s : plot.series) {
    if (s.values.size() != plot.x.size())
      throw Error("plot \"" + plot.title + "\": series \"" + s.name + "\" has " +
                  std::to_string(s.values.size()) + " values for " + std::to_string(plot.x.size()) +
                  " x positions");
    for (double v : s.values) yr.add(v);
  }
  if (xr.empty()) throw Error("plot \"" + plot.title + "\": no finite x values");
  if (yr.empty()) yr.add(0), yr.add(1);

  RgbImage out(width, height, kWhite);
  const int plot_left = kLeft, plot_right = width - kRight;
  const int plot_top = kTop, plot_bottom = height - kBottom;
  const Axis x_axis{nice_ticks(xr.lo, xr.hi, 6, plot.min_x_step), plot_left, plot_right};
  const Axis y_axis{nice_ticks(yr.lo, yr.hi, 5), plot_bottom, plot_top};

  // Grid and ticks.
  const int text_h = RgbImage::text_height();
  for (double t : x_axis.ticks) {
    const int px = x_axis.pixel(t);
    out.fill_rect(px, plot_top, 1, plot_bottom - plot_top, kGrid);
    out.fill_rect(px, plot_bottom, 1, kTickLength, kAxis);
    const std::string label = tick_label(t, x_axis.step());
    out.draw_text(label, px - RgbImage::text_width(label) / 2, plot_bottom + kTickLength + 3,
                  kAxis);
  }
  for (double t : y_axis.ticks) {
    const int py = y_axis.pixel(t);
    out.fill_rect(plot_left, py, plot_right - plot_left, 1, kGrid);
    out.fill_rect(plot_left - kTickLength, py, kTickLength, 1, kAxis);
    const std::string label = tick_label(t, y_axis.step());
    out.draw_text(label, plot_left - kTickLength - 3 - RgbImage::text_width(label), py - text_h / 2,
                  kAxis);
  }
  out.fill_rect(plot_left, plot_top, 1, plot_bottom - plot_top + 1, kAxis);
  out.fill_rect(plot_left, plot_bottom, plot_right - plot_left + 1, 1, kAxis);

  // Series, each joining consecutive finite points.
  const bool marked = plot.x.size() <= kMaxMarkedPoints;
  for (const Series& s : plot.series) {
    for (std::size_t i = 0; i < plot.x.size(); ++i) {
      if (!std::isfinite(plot.x[i]) || !std::isfinite(s.values[i])) continue;
      const int px = x_axis.pixel(plot.x[i]), py = y_axis.pixel(s.values[i]);
      if (i > 0 && std::isfinite(plot.x[i - 1]) && std::isfinite(s.values[i - 1]))
        thick_line(out, x_axis.pixel(plot.x[i - 1]), y_axis.pixel(s.values[i - 1]), px, py,
                   s.colour);
      if (marked) out.fill_rect(px - 2, py - 2, 5, 5, s.colour);
    }
  }

  // Title, x label, legend (inside the plot, in the emptiest corner).
  out.draw_text(plot.title, plot_left, (kTop - RgbImage::text_height(2)) / 2, kAxis, 2);
  out.draw_text(plot.x_label, (plot_left + plot_right - RgbImage::text_width(plot.x_label)) / 2,
                height - text_h - 6, kAxis);
  int legend_width = 0;
  for (const Series& s : plot.series)
    legend_width = std::max(legend_width, RgbImage::text_width(s.name));
  const int swatch = 16, row = text_h + 5;
  const int box_w = swatch + 6 + legend_width + 12;
  const int box_h = static_cast<int>(plot.series.size()) * row + 6;
  // The corner whose box hides the fewest drawn points, top right first on a tie.
  const auto hidden = [&](int x0, int y0) {
    int n = 0;
    for (int y = std::max(y0, 0); y < std::min(y0 + box_h, height); ++y)
      for (int x = std::max(x0, 0); x < std::min(x0 + box_w, width); ++x)
        for (const Series& s : plot.series)
          if (out.at(x, y) == s.colour) {
            ++n;
            break;
          }
    return n;
  };
  const int right_x = plot_right - box_w - 6, left_x = plot_left + 6;
  const int top_y = plot_top + 6, bottom_y = plot_bottom - box_h - 6;
  int box_x = right_x, box_y = top_y, fewest = hidden(right_x, top_y);
  for (const auto& [x, y] : {std::pair{right_x, bottom_y}, {left_x, top_y}, {left_x, bottom_y}})
    if (const int n = hidden(x, y); n < fewest) box_x = x, box_y = y, fewest = n;
  out.fill_rect(box_x, box_y, box_w, box_h, kWhite);
  out.draw_rect(box_x, box_y, box_w, box_h, kGrid);
  for (std::size_t i = 0; i < plot.series.size(); ++i) {
    const int y = box_y + 5 + static_cast<int>(i) * row;
    out.fill_rect(box_x + 6, y + text_h / 2 - 1, swatch, 3, plot.series[i].colour);
    out.draw_text(plot.series[i].name, box_x + 6 + swatch + 6, y, kAxis);
  }
  return out;
}

RgbImage training_curves(const std::vector<EpochMetrics>& epochs) {
  if (epochs.empty()) throw Error("training curves: no epochs to plot");
  LinePlot errors{"error (%)", "epoch", {}, {}, 1};
  LinePlot losses{"loss per image", "epoch", {}, {}, 1};
  Series train{"train error", kBlue, {}}, validation{"validation error", kRed, {}};
  Series total{"total loss", kAxis, {}}, ce{"cross-entropy", kBlue, {}};
  Series reinforce{"reinforce", kOrange, {}}, baseline{"baseline", kPurple, {}};
  for (const EpochMetrics& m : epochs) {
    errors.x.push_back(m.epoch);
    losses.x.push_back(m.epoch);
    train.values.push_back(100 * m.train_error);
    validation.values.push_back(100 * m.validation_error);
    total.values.push_back(m.loss);
    ce.values.push_back(m.cross_entropy);
    reinforce.values.push_back(m.reinforce);
    baseline.values.push_back(m.baseline);
  }
  errors.series = {train, validation};
  losses.series = {total, ce, reinforce, baseline};
  constexpr int kWidth = 520, kHeight = 340;
  RgbImage out(2 * kWidth, kHeight, kWhite);
  out.paste(draw_line_plot(errors, kWidth, kHeight), 0, 0);
  out.paste(draw_line_plot(losses, kWidth, kHeight), kWidth, 0);
  return out;
}

}  // namespace ram::viz
