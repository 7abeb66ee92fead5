#pragma once
// A small x-y plot (points, optionally joined in the order given, with a point label each) on
// linear axes with ticks, for trade-off pictures such as error against mean glimpses.
#include <string>
#include <vector>

#include "ram/viz/canvas.h"

namespace ram::viz {

struct PlotPoint {
  double x = 0, y = 0;
  std::string label;  // drawn beside the point; may be empty
};

struct PlotSeries {
  std::string name;  // in the legend
  Rgb colour;
  std::vector<PlotPoint> points;
  bool joined = true;  // a line through the points in the order given
};

struct PlotText {
  std::string title, x_label, y_label;
};

// Axes span the data (padded by 5%); throws ram::Error for no points or a non-finite value.
Canvas scatter_plot(const std::vector<PlotSeries>& series, const PlotText& text, double width = 800,
                    double height = 560);

}  // namespace ram::viz
