#pragma once
// A figure as a list of drawing operations in logical pixels, then rendered: by cairo into a PNG
// at twice the logical size (sharp on high-DPI screens) or into raster frames for GIFs, and
// written as SVG by hand, because cairo's SVG surface turns text into glyph outlines that can be
// neither searched nor selected. Keeping the operations (rather than pixels) also lets tests ask
// what was drawn where.
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "ram/viz/image.h"

namespace ram::viz {

// PNG figures are drawn at this many device pixels per logical pixel.
inline constexpr double kPngScale = 2;

struct Point {
  double x = 0, y = 0;
};

enum class Anchor { start, middle, end };

struct TextStyle {
  double size = 12;  // font size in logical pixels
  bool bold = false;
  Anchor anchor = Anchor::start;
  bool vertical = false;  // read bottom to top (a y-axis label), turned about its anchor point
};

struct RectItem {
  double x = 0, y = 0, width = 0, height = 0;
  Rgb colour;
  double line_width = 0;  // 0: filled; otherwise an outline of that width inside the rectangle
  double opacity = 1;
};
struct PathItem {
  std::vector<Point> points;
  Rgb colour;
  double line_width = 1;
  bool dashed = false;
};
struct CircleItem {
  Point centre;
  double radius = 1;
  Rgb colour;
  bool filled = true;
};
struct TextItem {
  Point at;  // the anchor point on the baseline
  std::string text;
  Rgb colour;
  TextStyle style;
};
// Grey levels in [0, 1] (clamped), each value a cell x cell square: the digits and retina views.
struct GreyItem {
  Point at;  // top-left corner
  int rows = 0, cols = 0;
  double cell = 1;
  std::vector<float> values;
};

using CanvasItem = std::variant<RectItem, PathItem, CircleItem, TextItem, GreyItem>;

class Canvas {
 public:
  Canvas(double width, double height, Rgb background = kWhite);

  double width() const { return width_; }
  double height() const { return height_; }
  Rgb background() const { return background_; }
  const std::vector<CanvasItem>& items() const { return items_; }
  // The text items in drawing order (for layout checks and tests).
  std::vector<TextItem> texts() const;

  void fill_rect(double x, double y, double width, double height, Rgb colour, double opacity = 1);
  void stroke_rect(double x, double y, double width, double height, Rgb colour,
                   double line_width = 1);
  void line(Point from, Point to, Rgb colour, double line_width = 1, bool dashed = false);
  void polyline(std::vector<Point> points, Rgb colour, double line_width = 1, bool dashed = false);
  void circle(Point centre, double radius, Rgb colour, bool filled = true);
  void text(Point at, std::string_view text, Rgb colour, TextStyle style = {});
  // Throws ram::Error if values does not hold rows x cols numbers.
  void grey(std::span<const float> values, int rows, int cols, Point at, double cell);
  // Draws every item of `other` shifted by `offset` (its background is not drawn).
  void paste(const Canvas& other, Point offset);

 private:
  double width_, height_;
  Rgb background_;
  std::vector<CanvasItem> items_;
};

// The advance width of text as cairo lays it out in the figures' font (DejaVu Sans).
double text_width(std::string_view text, const TextStyle& style);

// A PNG of the canvas at `scale` device pixels per logical pixel.
std::vector<std::uint8_t> encode_png(const Canvas& canvas, double scale = kPngScale);
// An SVG document whose text stays text.
std::string encode_svg(const Canvas& canvas);

// Text made safe inside XML or HTML markup and attribute values (& < > " ').
std::string xml_escape(std::string_view text);
// The canvas as pixels (for GIF frames): width x height times scale, rounded up.
RgbImage rasterize(const Canvas& canvas, double scale = 1);
// PNG (at kPngScale) or SVG by the file's extension; anything else is a ram::Error naming the
// file, as is a failure to write it.
void write_figure(const Canvas& canvas, const std::filesystem::path& path);

}  // namespace ram::viz
