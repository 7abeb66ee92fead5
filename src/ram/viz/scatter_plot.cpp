#include "ram/viz/scatter_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "ram/util/error.h"

namespace ram::viz {

namespace {

constexpr Rgb kAxis{40, 40, 40};
constexpr Rgb kGrid{225, 225, 225};

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

RgbImage scatter_plot(const std::vector<PlotSeries>& series, const PlotText& text, int width,
                      int height) {
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

  RgbImage image(width, height, kWhite);
  const int left = 80, right = width - 20, top = 50, bottom = height - 60;
  auto px = [&](double x) {
    return left + static_cast<int>(std::lround((x - x_lo) / (x_hi - x_lo) * (right - left)));
  };
  auto py = [&](double y) {
    return bottom - static_cast<int>(std::lround((y - y_lo) / (y_hi - y_lo) * (bottom - top)));
  };
  for (double v : ticks(x_lo, x_hi, 8)) {
    image.draw_line(px(v), top, px(v), bottom, kGrid);
    const std::string s = format_tick(v);
    image.draw_text(s, px(v) - RgbImage::text_width(s) / 2, bottom + 8, kAxis);
  }
  for (double v : ticks(y_lo, y_hi, 6)) {
    image.draw_line(left, py(v), right, py(v), kGrid);
    const std::string s = format_tick(v);
    image.draw_text(s, left - 8 - RgbImage::text_width(s), py(v) - 3, kAxis);
  }
  image.draw_line(left, top, left, bottom, kAxis);
  image.draw_line(left, bottom, right, bottom, kAxis);
  image.draw_text(text.title, (width - RgbImage::text_width(text.title, 2)) / 2, 12, kAxis, 2);
  image.draw_text(text.x_label, (left + right - RgbImage::text_width(text.x_label)) / 2,
                  bottom + 28, kAxis);
  image.draw_text(text.y_label, 8, top - 16, kAxis);

  int legend_y = top + 8;
  for (const PlotSeries& s : series) {
    for (std::size_t i = 0; i < s.points.size(); ++i) {
      const int x = px(s.points[i].x), y = py(s.points[i].y);
      if (s.joined && i > 0) {
        const int x0 = px(s.points[i - 1].x), y0 = py(s.points[i - 1].y);
        for (int d = -1; d <= 1; ++d) image.draw_line(x0, y0 + d, x, y + d, s.colour);
      }
      image.fill_rect(x - 4, y - 4, 9, 9, s.colour);
      if (!s.points[i].label.empty()) image.draw_text(s.points[i].label, x + 7, y - 12, s.colour);
    }
    image.fill_rect(right - 230, legend_y, 14, 9, s.colour);
    image.draw_text(s.name, right - 210, legend_y + 1, kAxis);
    legend_y += 16;
  }
  return image;
}

}  // namespace ram::viz
