#pragma once
// Line plots (axes, ticks, a legend, labelled markers; a linear or logarithmic y axis), and the
// training curves of a run: train and validation error, the losses and the learning rate, by
// epoch.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "ram/train/train.h"
#include "ram/viz/canvas.h"

namespace ram::viz {

inline constexpr Rgb kAxisColour{40, 40, 40};
// One colour per run where several share a plot: distinct on white and for the common colour
// blindnesses (Okabe and Ito), then darker ones; past the end, repeats are drawn dashed.
inline constexpr Rgb kRunColours[] = {{0, 114, 178}, {213, 94, 0},   {0, 158, 115}, {204, 121, 167},
                                      {230, 159, 0}, {86, 180, 233}, {0, 0, 0},     {120, 60, 20}};

struct Series {
  std::string name;
  Rgb colour;
  std::vector<double> values;  // one per x; non-finite values (and <= 0 on a log axis) leave a gap
  bool dashed = false;
};

// A point picked out with a ring and a label (the best epoch, the final value).
struct Marker {
  double x = 0, y = 0;
  std::string label;
  Rgb colour;
  bool label_below = false;    // else above the point
  bool vertical_line = false;  // a dashed line through the point, top to bottom of the plot
};

struct LinePlot {
  std::string title;
  std::string x_label;
  std::vector<double> x;
  std::vector<Series> series;
  double min_x_step = 0;  // smallest x tick spacing (1 for epochs)
  bool log_y = false;     // a logarithmic y axis, ticks at 1, 2 and 5 times powers of ten
  std::vector<Marker> markers;
};

// Round tick values covering [lo, hi] (about `target` of them), spaced 1, 2 or 5 times a power
// of ten and at least min_step apart; an empty range is widened around its value.
std::vector<double> nice_ticks(double lo, double hi, int target, double min_step = 0);

// Ticks of a logarithmic axis covering [lo, hi] (both > 0): 1, 2 and 5 times powers of ten from
// the largest one <= lo to the smallest one >= hi (every digit 1..9 if that gives fewer than 3).
std::vector<double> log_ticks(double lo, double hi);

// A tick value with as many decimals as the spacing needs ("0.05", "120", "-1.5").
std::string tick_label(double value, double step);

// Throws ram::Error if the series and x differ in length or there is nothing to plot.
Canvas draw_line_plot(const LinePlot& plot, double width, double height);

// The error on a log axis (train and validation, the best validation epoch and the final value
// marked), the losses, and the learning rate, under a title naming the run.
Canvas training_curves(const std::vector<EpochMetrics>& epochs, std::string_view run_name);

// The headline figures of a run's metrics: the final and the best validation error (the first
// epoch reaching it), the epochs and the wall time summed over them.
struct RunFigures {
  int epochs = 0;
  double final_validation_error = 0;
  double best_validation_error = 0;
  int best_epoch = 0;
  double seconds = 0;
};
RunFigures run_figures(const std::vector<EpochMetrics>& metrics);  // throws for no epochs

// The name figures give a run: its directory's last component ("runs/m6/" -> "m6"), or a
// metrics file's stem ("final-models/translated60-8g-s1.csv" -> "translated60-8g-s1").
std::string run_name(const std::string& path);

// The metrics table of a run: DIR/metrics.csv for a run directory, the path itself for a .csv.
std::string metrics_file(const std::string& run);

// "1.83%": a fraction as the figures and tables write it.
std::string percent_label(double fraction);

}  // namespace ram::viz
