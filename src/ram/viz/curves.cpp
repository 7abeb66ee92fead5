#include "ram/viz/curves.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>

#include "ram/util/error.h"

namespace ram::viz {

namespace {

constexpr Rgb kGrid{228, 228, 228};
constexpr Rgb kOrange{230, 140, 20};
constexpr Rgb kPurple{150, 60, 200};
constexpr Rgb kGreyText{110, 110, 110};
constexpr double kLeft = 58, kRight = 14, kTop = 28, kBottom = 42;
constexpr double kTickLength = 4;
constexpr double kTickFont = 11, kTitleFont = 13, kLegendFont = 11;
constexpr std::size_t kMaxMarkedPoints = 40;  // beyond this, dots at every point crowd the lines

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

// Maps a value of [ticks.front(), ticks.back()] onto [from, to] pixels, linearly or by its log.
struct Axis {
  std::vector<double> ticks;
  double from = 0, to = 0;
  bool log = false;
  double scaled(double v) const { return log ? std::log10(v) : v; }
  double pixel(double v) const {
    const double lo = scaled(ticks.front()), hi = scaled(ticks.back());
    return from + (scaled(v) - lo) / (hi - lo) * (to - from);
  }
  double step() const { return ticks.size() > 1 ? ticks[1] - ticks[0] : 1.0; }
  std::string label(double v) const {
    if (!log) return tick_label(v, step());
    char text[32];
    std::snprintf(text, sizeof text, "%g", v);
    return text;
  }
};

bool plotted(double v, bool log) {
  return std::isfinite(v) && (!log || v > 0);
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

std::vector<double> log_ticks(double lo, double hi) {
  if (!(lo > 0) || !std::isfinite(hi) || lo > hi)
    throw Error("log_ticks: bad range [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  const auto ticks_with = [&](std::initializer_list<double> mantissas) {
    std::vector<double> candidates;
    const int first = static_cast<int>(std::floor(std::log10(lo))) - 1;
    const int last = static_cast<int>(std::ceil(std::log10(hi))) + 1;
    for (int power = first; power <= last; ++power)
      for (double m : mantissas) candidates.push_back(m * std::pow(10.0, power));
    // The largest candidate <= lo and the smallest >= hi, and all between (with a tolerance,
    // so that a value of exactly 1 does not reach down to 0.5).
    const double tolerance = 1e-9;
    std::vector<double> ticks;
    double below = candidates.front();
    for (double c : candidates)
      if (c <= lo * (1 + tolerance)) below = c;
    for (double c : candidates)
      if (c >= below && (ticks.empty() || ticks.back() < hi * (1 - tolerance))) ticks.push_back(c);
    return ticks;
  };
  std::vector<double> ticks = ticks_with({1, 2, 5});
  if (ticks.size() < 3) ticks = ticks_with({1, 2, 3, 4, 5, 6, 7, 8, 9});
  if (ticks.size() < 2) ticks.push_back(ticks.back() * 2);
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

std::string percent_label(double fraction) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f%%", 100 * fraction);
  return text;
}

Canvas draw_line_plot(const LinePlot& plot, double width, double height) {
  if (plot.x.empty()) throw Error("plot \"" + plot.title + "\": no points to plot");
  Range xr, yr;
  for (double x : plot.x) xr.add(x);
  for (const Series& s : plot.series) {
    if (s.values.size() != plot.x.size())
      throw Error("plot \"" + plot.title + "\": series \"" + s.name + "\" has " +
                  std::to_string(s.values.size()) + " values for " + std::to_string(plot.x.size()) +
                  " x positions");
    for (double v : s.values)
      if (plotted(v, plot.log_y)) yr.add(v);
  }
  if (xr.empty()) throw Error("plot \"" + plot.title + "\": no finite x values");
  if (yr.empty()) {
    yr.add(plot.log_y ? 1 : 0);
    yr.add(plot.log_y ? 10 : 1);
  }

  Canvas out(width, height, kWhite);
  const double left = kLeft, right = width - kRight, top = kTop, bottom = height - kBottom;
  const Axis x_axis{nice_ticks(xr.lo, xr.hi, 6, plot.min_x_step), left, right, false};
  const Axis y_axis{plot.log_y ? log_ticks(yr.lo, yr.hi) : nice_ticks(yr.lo, yr.hi, 5), bottom, top,
                    plot.log_y};
  const TextStyle tick_style{kTickFont, false, Anchor::middle};

  for (double t : x_axis.ticks) {
    const double px = x_axis.pixel(t);
    out.line({px, top}, {px, bottom}, kGrid);
    out.line({px, bottom}, {px, bottom + kTickLength}, kAxisColour);
    out.text({px, bottom + kTickLength + kTickFont + 1}, x_axis.label(t), kAxisColour, tick_style);
  }
  for (double t : y_axis.ticks) {
    const double py = y_axis.pixel(t);
    out.line({left, py}, {right, py}, kGrid);
    out.line({left - kTickLength, py}, {left, py}, kAxisColour);
    out.text({left - kTickLength - 3, py + kTickFont * 0.35}, y_axis.label(t), kAxisColour,
             {kTickFont, false, Anchor::end});
  }
  out.line({left, top}, {left, bottom}, kAxisColour);
  out.line({left, bottom}, {right, bottom}, kAxisColour);

  // Series, each a polyline per run of plotted points; dots at every point when there are few.
  std::vector<Point> drawn;  // every plotted point, for placing the legend
  const bool dotted = plot.x.size() <= kMaxMarkedPoints;
  for (const Series& s : plot.series) {
    std::vector<Point> run;
    const auto flush = [&] {
      if (run.size() > 1) out.polyline(run, s.colour, 1.8, s.dashed);
      run.clear();
    };
    for (std::size_t i = 0; i < plot.x.size(); ++i) {
      if (!std::isfinite(plot.x[i]) || !plotted(s.values[i], plot.log_y)) {
        flush();
        continue;
      }
      const Point p{x_axis.pixel(plot.x[i]), y_axis.pixel(s.values[i])};
      run.push_back(p);
      drawn.push_back(p);
      if (run.size() > 1) {
        const Point q = run[run.size() - 2];
        drawn.push_back({(p.x + q.x) / 2, (p.y + q.y) / 2});
      }
      if (dotted) out.circle(p, 2.6, s.colour);
    }
    flush();
  }

  for (const Marker& m : plot.markers) {
    if (!plotted(m.y, plot.log_y)) continue;
    const Point p{x_axis.pixel(m.x), y_axis.pixel(m.y)};
    if (m.vertical_line) out.line({p.x, top}, {p.x, bottom}, m.colour, 1, true);
    out.circle(p, 5, m.colour, false);
    out.circle(p, 2.6, m.colour);
    const bool left_of_point = p.x > (left + right) / 2;
    const double x = left_of_point ? p.x - 7 : p.x + 7;
    const double y = m.label_below ? p.y + 7 + kLegendFont : p.y - 8;
    out.text({x, y}, m.label, m.colour,
             {kLegendFont, true, left_of_point ? Anchor::end : Anchor::start});
  }

  out.text({left, kTop - 10}, plot.title, kAxisColour, {kTitleFont, true});
  out.text({(left + right) / 2, height - 6}, plot.x_label, kAxisColour,
           {kTickFont, false, Anchor::middle});

  // The legend, in the corner whose box covers the fewest plotted points (top right on a tie);
  // one series is named by the title.
  if (plot.series.size() < 2) return out;
  double legend_width = 0;
  for (const Series& s : plot.series)
    legend_width = std::max(legend_width, text_width(s.name, {kLegendFont}));
  const double swatch = 18, row = kLegendFont + 5;
  const double box_w = swatch + 6 + legend_width + 12;
  const double box_h = static_cast<double>(plot.series.size()) * row + 8;
  const auto covered = [&](double x0, double y0) {
    return std::count_if(drawn.begin(), drawn.end(), [&](Point p) {
      return p.x >= x0 - 3 && p.x <= x0 + box_w + 3 && p.y >= y0 - 3 && p.y <= y0 + box_h + 3;
    });
  };
  const double right_x = right - box_w - 6, left_x = left + 6;
  const double top_y = top + 6, bottom_y = bottom - box_h - 6;
  double box_x = right_x, box_y = top_y;
  auto fewest = covered(right_x, top_y);
  for (const auto& [x, y] : {std::pair{right_x, bottom_y}, {left_x, top_y}, {left_x, bottom_y}})
    if (const auto n = covered(x, y); n < fewest) box_x = x, box_y = y, fewest = n;
  out.fill_rect(box_x, box_y, box_w, box_h, kWhite, 0.9);
  out.stroke_rect(box_x, box_y, box_w, box_h, kGrid);
  for (std::size_t i = 0; i < plot.series.size(); ++i) {
    const double y = box_y + 4 + static_cast<double>(i) * row + row / 2;
    out.line({box_x + 6, y}, {box_x + 6 + swatch, y}, plot.series[i].colour, 2.2,
             plot.series[i].dashed);
    out.text({box_x + 6 + swatch + 6, y + kLegendFont * 0.35}, plot.series[i].name, kAxisColour,
             {kLegendFont});
  }
  return out;
}

std::string run_name(const std::string& path) {
  std::filesystem::path p = std::filesystem::absolute(path).lexically_normal();
  if (!p.has_filename()) p = p.parent_path();  // "runs/m6/" or "."
  if (p.extension() == ".csv") return p.stem().string();
  const std::string name = p.filename().string();
  return name.empty() ? path : name;
}

std::string metrics_file(const std::string& run) {
  if (std::filesystem::path(run).extension() == ".csv") return run;
  return (std::filesystem::path(run) / kMetricsFile).string();
}

RunFigures run_figures(const std::vector<EpochMetrics>& metrics) {
  if (metrics.empty()) throw Error("run figures: no epochs");
  RunFigures f;
  f.epochs = static_cast<int>(metrics.size());
  f.final_validation_error = metrics.back().validation_error;
  f.best_validation_error = metrics.front().validation_error;
  f.best_epoch = metrics.front().epoch;
  for (const EpochMetrics& m : metrics) {
    f.seconds += m.seconds;
    if (m.validation_error < f.best_validation_error) {
      f.best_validation_error = m.validation_error;
      f.best_epoch = m.epoch;
    }
  }
  return f;
}

Canvas training_curves(const std::vector<EpochMetrics>& epochs, std::string_view run_name) {
  if (epochs.empty()) throw Error("training curves: no epochs to plot");
  LinePlot errors{"error (%), log scale", "epoch", {}, {}, 1, true, {}};
  LinePlot losses{"loss per image", "epoch", {}, {}, 1, false, {}};
  LinePlot rate{"learning rate", "epoch", {}, {}, 1, false, {}};
  Series train{"train error", kBlue, {}}, validation{"validation error", kRed, {}};
  Series total{"total loss", kAxisColour, {}}, ce{"cross-entropy", kBlue, {}};
  Series reinforce{"reinforce", kOrange, {}}, baseline{"baseline", kPurple, {}};
  Series learning_rate{"learning rate", kAxisColour, {}};
  for (const EpochMetrics& m : epochs) {
    for (LinePlot* p : {&errors, &losses, &rate}) p->x.push_back(m.epoch);
    train.values.push_back(100 * m.train_error);
    validation.values.push_back(100 * m.validation_error);
    total.values.push_back(m.loss);
    ce.values.push_back(m.cross_entropy);
    reinforce.values.push_back(m.reinforce);
    baseline.values.push_back(m.baseline);
    learning_rate.values.push_back(m.learning_rate);
  }
  errors.series = {train, validation};
  losses.series = {total, ce, reinforce, baseline};
  rate.series = {learning_rate};
  const RunFigures figures = run_figures(epochs);
  const EpochMetrics& last = epochs.back();
  errors.markers.push_back({static_cast<double>(figures.best_epoch),
                            100 * figures.best_validation_error,
                            "best " + percent_label(figures.best_validation_error) + " (epoch " +
                                std::to_string(figures.best_epoch) + ")",
                            kRed, true, true});
  if (figures.best_epoch != last.epoch)
    errors.markers.push_back({static_cast<double>(last.epoch), 100 * last.validation_error,
                              "final " + percent_label(last.validation_error), kAxisColour, false,
                              false});

  constexpr double kTitleHeight = 34, kPanelWidth = 560, kHeight = 420, kRateHeight = 150;
  Canvas out(2 * kPanelWidth, kTitleHeight + kHeight, kWhite);
  const std::string title = std::string(run_name) + ": training curves, " +
                            std::to_string(epochs.size()) + " epochs, final validation error " +
                            percent_label(last.validation_error);
  out.text({kLeft, 23}, title, kAxisColour, {16, true});
  out.paste(draw_line_plot(errors, kPanelWidth, kHeight), {0, kTitleHeight});
  out.paste(draw_line_plot(losses, kPanelWidth, kHeight - kRateHeight),
            {kPanelWidth, kTitleHeight});
  out.paste(draw_line_plot(rate, kPanelWidth, kRateHeight),
            {kPanelWidth, kTitleHeight + kHeight - kRateHeight});
  out.text({2 * kPanelWidth - kRight, 23}, "from metrics.csv", kGreyText,
           {kTickFont, false, Anchor::end});
  return out;
}

}  // namespace ram::viz
