#pragma once
// Line plots drawn with the built-in font (axes, ticks, a legend), and the training curves of a
// run: train and validation error, and the losses, by epoch.
#include <string>
#include <vector>

#include "ram/train/train.h"
#include "ram/viz/image.h"

namespace ram::viz {

struct Series {
  std::string name;
  Rgb colour;
  std::vector<double> values;  // one per x; non-finite values leave a gap
};

struct LinePlot {
  std::string title;
  std::string x_label;
  std::vector<double> x;
  std::vector<Series> series;
  double min_x_step = 0;  // smallest x tick spacing (1 for epochs)
};

// Round tick values covering [lo, hi] (about `target` of them), spaced 1, 2 or 5 times a power
// of ten and at least min_step apart; an empty range is widened around its value.
std::vector<double> nice_ticks(double lo, double hi, int target, double min_step = 0);

// A tick value with as many decimals as the spacing needs ("0.05", "120", "-1.5").
std::string tick_label(double value, double step);

// Throws ram::Error if the series and x differ in length or there is nothing to plot.
RgbImage draw_line_plot(const LinePlot& plot, int width, int height);

// Two plots side by side: error (%) and the losses per image, by epoch.
RgbImage training_curves(const std::vector<EpochMetrics>& epochs);

}  // namespace ram::viz
