#include "ram/viz/scatter_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "ram/util/error.h"

namespace ram::viz {

namespace {

constexpr Rgb kAxis{40, 40, 40};
constexpr Rgb kGrid{228, 228, 228};
constexpr double kFont = 12;

// About `count` round tick values (1, 2 or 5 times a power of ten apart) inside [lo, hi].
std::vector<double> ticks(double lo, double hi, int count) {
  const double raw = (hi - lo) / count;
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  double step = power;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * power >= raw) {
      step = m * power;
      break;
    }
  std::vector<double> out;
  for (double v = std::ceil(lo / step) * step; v <= hi + step * 1e-9; v += step)
    out.push_back(std::abs(v) < step * 1e-9 ? 0.0 : v);
  return out;
}

std::string format_tick(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g", v);
  return buffer;
}

}  // namespace

Canvas scatter_plot(const std::vector<PlotSeries>& series, const PlotText& text, double width,
                    double height) {
  double x_lo = std::numeric_limits<double>::infinity(), x_hi = -x_lo, y_lo = x_lo, y_hi = -x_lo;
  for (const PlotSeries& s : series)
    for (const PlotPoint& p : s.points) {
      if (!std::isfinite(p.x) || !std::isfinite(p.y))
        throw Error("scatter plot: series '" + s.name + "' has a non-finite point");
      x_lo = std::min(x_lo, p.x);
      x_hi = std::max(x_hi, p.x);
      y_lo = std::min(y_lo, p.y);
      y_hi = std::max(y_hi, p.y);
    }
  if (!std::isfinite(x_lo)) throw Error("scatter plot: no points to plot");
  auto pad = [](double& lo, double& hi) {
    const double span = hi > lo ? hi - lo : std::max(1.0, std::abs(lo));
    lo -= 0.05 * span;
    hi += 0.05 * span;
  };
  pad(x_lo, x_hi);
  pad(y_lo, y_hi);

  Canvas canvas(width, height, kWhite);
  const double left = 80, right = width - 20, top = 50, bottom = height - 60;
  auto px = [&](double x) { return left + (x - x_lo) / (x_hi - x_lo) * (right - left); };
  auto py = [&](double y) { return bottom - (y - y_lo) / (y_hi - y_lo) * (bottom - top); };
  for (double v : ticks(x_lo, x_hi, 8)) {
    canvas.line({px(v), top}, {px(v), bottom}, kGrid);
    canvas.text({px(v), bottom + 8 + kFont}, format_tick(v), kAxis, {kFont, false, Anchor::middle});
  }
  for (double v : ticks(y_lo, y_hi, 6)) {
    canvas.line({left, py(v)}, {right, py(v)}, kGrid);
    canvas.text({left - 8, py(v) + kFont * 0.35}, format_tick(v), kAxis,
                {kFont, false, Anchor::end});
  }
  canvas.line({left, top}, {left, bottom}, kAxis);
  canvas.line({left, bottom}, {right, bottom}, kAxis);
  canvas.text({width / 2, 28}, text.title, kAxis, {16, true, Anchor::middle});
  canvas.text({(left + right) / 2, bottom + 44}, text.x_label, kAxis,
              {kFont + 1, false, Anchor::middle});
  canvas.text({22, (top + bottom) / 2}, text.y_label, kAxis,
              {kFont + 1, false, Anchor::middle, true});

  double legend_y = top + 10;
  for (const PlotSeries& s : series) {
    std::vector<Point> line;
    for (const PlotPoint& p : s.points) line.push_back({px(p.x), py(p.y)});
    if (s.joined) canvas.polyline(line, s.colour, 2);
    for (std::size_t i = 0; i < s.points.size(); ++i) {
      canvas.circle(line[i], 4.5, s.colour);
      if (!s.points[i].label.empty())
        canvas.text({line[i].x + 8, line[i].y - 8}, s.points[i].label, s.colour, {kFont - 1});
    }
    canvas.fill_rect(right - 230, legend_y - 5, 14, 10, s.colour);
    canvas.text({right - 210, legend_y + kFont * 0.35}, s.name, kAxis, {kFont});
    legend_y += 18;
  }
  return canvas;
}

}  // namespace ram::viz
