#include "ram/viz/canvas.h"

#include <cairo.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <memory>
#include <numbers>
#include <type_traits>

#include "ram/util/error.h"

namespace ram::viz {

namespace {

constexpr const char* kFontFamily = "DejaVu Sans";
// Viewers without DejaVu Sans fall back to fonts of about its width.
constexpr const char* kSvgFontFamily = "'DejaVu Sans', Verdana, Arial, sans-serif";
constexpr double kDash[] = {5, 4};

struct SurfaceDeleter {
  void operator()(cairo_surface_t* s) const { cairo_surface_destroy(s); }
};
struct ContextDeleter {
  void operator()(cairo_t* c) const { cairo_destroy(c); }
};
using Surface = std::unique_ptr<cairo_surface_t, SurfaceDeleter>;
using Context = std::unique_ptr<cairo_t, ContextDeleter>;

Surface image_surface(int width, int height) {
  Surface surface(cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height));
  if (cairo_surface_status(surface.get()) != CAIRO_STATUS_SUCCESS)
    throw Error("figure: cannot create a " + std::to_string(width) + "x" + std::to_string(height) +
                " image (" + cairo_status_to_string(cairo_surface_status(surface.get())) + ")");
  return surface;
}

void set_colour(cairo_t* cr, Rgb c, double opacity = 1) {
  cairo_set_source_rgba(cr, c.r / 255.0, c.g / 255.0, c.b / 255.0, opacity);
}

// Grey antialiasing (no colour fringes in GIF frames) and unhinted metrics, so that text is as
// wide at every scale as text_width measured it.
void set_font(cairo_t* cr, const TextStyle& style) {
  cairo_select_font_face(cr, kFontFamily, CAIRO_FONT_SLANT_NORMAL,
                         style.bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, style.size);
  cairo_font_options_t* options = cairo_font_options_create();
  cairo_font_options_set_antialias(options, CAIRO_ANTIALIAS_GRAY);
  cairo_font_options_set_hint_metrics(options, CAIRO_HINT_METRICS_OFF);
  cairo_font_options_set_hint_style(options, CAIRO_HINT_STYLE_NONE);
  cairo_set_font_options(cr, options);
  cairo_font_options_destroy(options);
}

double anchor_shift(const TextStyle& style, double width) {
  return style.anchor == Anchor::start ? 0 : style.anchor == Anchor::middle ? width / 2 : width;
}

std::uint8_t grey_byte(float v) {
  return static_cast<std::uint8_t>(std::lround(std::clamp(v, 0.0f, 1.0f) * 255.0f));
}

// The grey values as a cols x rows image, one pixel per value.
Surface grey_surface(const GreyItem& g) {
  Surface surface = image_surface(g.cols, g.rows);
  cairo_surface_flush(surface.get());
  unsigned char* data = cairo_image_surface_get_data(surface.get());
  const int stride = cairo_image_surface_get_stride(surface.get());
  for (int r = 0; r < g.rows; ++r) {
    auto* row = reinterpret_cast<std::uint32_t*>(data + static_cast<std::ptrdiff_t>(r) * stride);
    for (int c = 0; c < g.cols; ++c) {
      const std::uint32_t v = grey_byte(g.values[static_cast<std::size_t>(r) * g.cols + c]);
      row[c] = (v << 16) | (v << 8) | v;
    }
  }
  cairo_surface_mark_dirty(surface.get());
  return surface;
}

struct CairoPainter {
  cairo_t* cr;

  void operator()(const RectItem& r) const {
    set_colour(cr, r.colour, r.opacity);
    if (r.line_width <= 0) {
      cairo_rectangle(cr, r.x, r.y, r.width, r.height);
      cairo_fill(cr);
    } else {
      const double w = r.line_width;
      cairo_rectangle(cr, r.x + w / 2, r.y + w / 2, std::max(0.0, r.width - w),
                      std::max(0.0, r.height - w));
      cairo_set_line_width(cr, w);
      cairo_set_line_join(cr, CAIRO_LINE_JOIN_MITER);
      cairo_stroke(cr);
    }
  }
  void operator()(const PathItem& p) const {
    if (p.points.size() < 2) return;
    set_colour(cr, p.colour);
    cairo_move_to(cr, p.points[0].x, p.points[0].y);
    for (std::size_t i = 1; i < p.points.size(); ++i)
      cairo_line_to(cr, p.points[i].x, p.points[i].y);
    cairo_set_line_width(cr, p.line_width);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    cairo_set_line_cap(cr, p.dashed ? CAIRO_LINE_CAP_BUTT : CAIRO_LINE_CAP_ROUND);
    if (p.dashed) cairo_set_dash(cr, kDash, 2, 0);
    cairo_stroke(cr);
    cairo_set_dash(cr, nullptr, 0, 0);
  }
  void operator()(const CircleItem& c) const {
    set_colour(cr, c.colour);
    cairo_new_sub_path(cr);
    cairo_arc(cr, c.centre.x, c.centre.y, c.radius, 0, 2 * std::numbers::pi);
    if (c.filled) {
      cairo_fill(cr);
    } else {
      cairo_set_line_width(cr, 1.5);
      cairo_stroke(cr);
    }
  }
  void operator()(const TextItem& t) const {
    set_font(cr, t.style);
    cairo_text_extents_t extents;
    cairo_text_extents(cr, t.text.c_str(), &extents);
    set_colour(cr, t.colour);
    cairo_save(cr);
    cairo_translate(cr, t.at.x, t.at.y);
    if (t.style.vertical) cairo_rotate(cr, -std::numbers::pi / 2);
    cairo_move_to(cr, -anchor_shift(t.style, extents.x_advance), 0);
    cairo_show_text(cr, t.text.c_str());
    cairo_restore(cr);
  }
  void operator()(const GreyItem& g) const {
    const Surface surface = grey_surface(g);
    cairo_save(cr);
    cairo_translate(cr, g.at.x, g.at.y);
    cairo_scale(cr, g.cell, g.cell);
    cairo_set_source_surface(cr, surface.get(), 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST);
    cairo_rectangle(cr, 0, 0, g.cols, g.rows);
    cairo_fill(cr);
    cairo_restore(cr);
  }
};

Surface render(const Canvas& canvas, double scale) {
  if (!(scale > 0)) throw Error("figure: the scale must be positive");
  const int width = static_cast<int>(std::ceil(canvas.width() * scale - 1e-9));
  const int height = static_cast<int>(std::ceil(canvas.height() * scale - 1e-9));
  Surface surface = image_surface(std::max(width, 1), std::max(height, 1));
  const Context context(cairo_create(surface.get()));
  cairo_t* cr = context.get();
  cairo_scale(cr, scale, scale);
  set_colour(cr, canvas.background());
  cairo_paint(cr);
  for (const CanvasItem& item : canvas.items()) std::visit(CairoPainter{cr}, item);
  cairo_surface_flush(surface.get());
  return surface;
}

cairo_status_t append_bytes(void* closure, const unsigned char* data, unsigned int length) {
  auto* out = static_cast<std::vector<std::uint8_t>*>(closure);
  out->insert(out->end(), data, data + length);
  return CAIRO_STATUS_SUCCESS;
}

std::vector<std::uint8_t> png_bytes(cairo_surface_t* surface) {
  std::vector<std::uint8_t> bytes;
  const cairo_status_t status = cairo_surface_write_to_png_stream(surface, append_bytes, &bytes);
  if (status != CAIRO_STATUS_SUCCESS)
    throw Error(std::string("figure: PNG encoding failed (") + cairo_status_to_string(status) +
                ")");
  return bytes;
}

std::string svg_number(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f", v);
  std::string s = text;
  s.erase(s.find_last_not_of('0') + 1);
  if (s.back() == '.') s.pop_back();
  return s == "-0" ? "0" : s;
}

std::string svg_colour(Rgb c) {
  char text[8];
  std::snprintf(text, sizeof text, "#%02x%02x%02x", c.r, c.g, c.b);
  return text;
}

struct SvgWriter {
  std::string& out;

  void operator()(const RectItem& r) const {
    const double w = r.line_width;
    if (w <= 0) {
      out += "<rect x=\"" + svg_number(r.x) + "\" y=\"" + svg_number(r.y) + "\" width=\"" +
             svg_number(r.width) + "\" height=\"" + svg_number(r.height) + "\" fill=\"" +
             svg_colour(r.colour) + "\"";
      if (r.opacity < 1) out += " fill-opacity=\"" + svg_number(r.opacity) + "\"";
    } else {
      out += "<rect x=\"" + svg_number(r.x + w / 2) + "\" y=\"" + svg_number(r.y + w / 2) +
             "\" width=\"" + svg_number(std::max(0.0, r.width - w)) + "\" height=\"" +
             svg_number(std::max(0.0, r.height - w)) + "\" fill=\"none\" stroke=\"" +
             svg_colour(r.colour) + "\" stroke-width=\"" + svg_number(w) + "\"";
      if (r.opacity < 1) out += " stroke-opacity=\"" + svg_number(r.opacity) + "\"";
    }
    out += "/>\n";
  }
  void operator()(const PathItem& p) const {
    if (p.points.size() < 2) return;
    out += "<polyline fill=\"none\" stroke=\"" + svg_colour(p.colour) + "\" stroke-width=\"" +
           svg_number(p.line_width) + "\" stroke-linejoin=\"round\"";
    out += p.dashed ? " stroke-dasharray=\"5 4\"" : " stroke-linecap=\"round\"";
    out += " points=\"";
    for (std::size_t i = 0; i < p.points.size(); ++i) {
      if (i > 0) out += ' ';
      out += svg_number(p.points[i].x);
      out += ',';
      out += svg_number(p.points[i].y);
    }
    out += "\"/>\n";
  }
  void operator()(const CircleItem& c) const {
    out += "<circle cx=\"" + svg_number(c.centre.x) + "\" cy=\"" + svg_number(c.centre.y) +
           "\" r=\"" + svg_number(c.radius) + "\"";
    out += c.filled ? " fill=\"" + svg_colour(c.colour) + "\""
                    : " fill=\"none\" stroke=\"" + svg_colour(c.colour) + "\" stroke-width=\"1.5\"";
    out += "/>\n";
  }
  void operator()(const TextItem& t) const {
    out += "<text x=\"" + svg_number(t.at.x) + "\" y=\"" + svg_number(t.at.y) + "\" font-size=\"" +
           svg_number(t.style.size) + "\" fill=\"" + svg_colour(t.colour) + "\"";
    if (t.style.bold) out += " font-weight=\"bold\"";
    if (t.style.anchor != Anchor::start)
      out += t.style.anchor == Anchor::middle ? " text-anchor=\"middle\"" : " text-anchor=\"end\"";
    if (t.style.vertical)
      out += " transform=\"rotate(-90 " + svg_number(t.at.x) + " " + svg_number(t.at.y) + ")\"";
    out += '>';
    out += xml_escape(t.text);
    out += "</text>\n";
  }
  void operator()(const GreyItem& g) const {
    const Surface surface = grey_surface(g);
    // pixelated: a browser would otherwise blur a 12x12 retina view drawn 60 pixels wide.
    out += "<image x=\"" + svg_number(g.at.x) + "\" y=\"" + svg_number(g.at.y) + "\" width=\"" +
           svg_number(g.cols * g.cell) + "\" height=\"" + svg_number(g.rows * g.cell) +
           "\" preserveAspectRatio=\"none\" style=\"image-rendering:pixelated\" "
           "xlink:href=\"data:image/png;base64," +
           base64(png_bytes(surface.get())) + "\"/>\n";
  }
};

std::string lower_extension(const std::filesystem::path& path) {
  std::string ext = path.extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext;
}

}  // namespace

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

Canvas::Canvas(double width, double height, Rgb background)
    : width_(width), height_(height), background_(background) {
  if (!(width > 0 && height > 0 && width < 1e5 && height < 1e5))
    throw Error("figure: bad size " + std::to_string(width) + "x" + std::to_string(height));
}

std::vector<TextItem> Canvas::texts() const {
  std::vector<TextItem> out;
  for (const CanvasItem& item : items_)
    if (const auto* t = std::get_if<TextItem>(&item)) out.push_back(*t);
  return out;
}

void Canvas::fill_rect(double x, double y, double width, double height, Rgb colour,
                       double opacity) {
  items_.emplace_back(RectItem{x, y, width, height, colour, 0, opacity});
}

void Canvas::stroke_rect(double x, double y, double width, double height, Rgb colour,
                         double line_width) {
  items_.emplace_back(RectItem{x, y, width, height, colour, line_width, 1});
}

void Canvas::line(Point from, Point to, Rgb colour, double line_width, bool dashed) {
  items_.emplace_back(PathItem{{from, to}, colour, line_width, dashed});
}

void Canvas::polyline(std::vector<Point> points, Rgb colour, double line_width, bool dashed) {
  items_.emplace_back(PathItem{std::move(points), colour, line_width, dashed});
}

void Canvas::circle(Point centre, double radius, Rgb colour, bool filled) {
  items_.emplace_back(CircleItem{centre, radius, colour, filled});
}

void Canvas::text(Point at, std::string_view text, Rgb colour, TextStyle style) {
  items_.emplace_back(TextItem{at, std::string(text), colour, style});
}

void Canvas::grey(std::span<const float> values, int rows, int cols, Point at, double cell) {
  if (rows < 1 || cols < 1 || values.size() != static_cast<std::size_t>(rows) * cols)
    throw Error("figure: " + std::to_string(values.size()) + " grey values for a " +
                std::to_string(rows) + "x" + std::to_string(cols) + " image");
  items_.emplace_back(GreyItem{at, rows, cols, cell, {values.begin(), values.end()}});
}

void Canvas::paste(const Canvas& other, Point offset) {
  const auto shift = [&](Point p) { return Point{p.x + offset.x, p.y + offset.y}; };
  for (CanvasItem item : other.items_) {
    std::visit(
        [&](auto& i) {
          using T = std::decay_t<decltype(i)>;
          if constexpr (std::is_same_v<T, RectItem>) {
            i.x += offset.x;
            i.y += offset.y;
          } else if constexpr (std::is_same_v<T, PathItem>) {
            for (Point& p : i.points) p = shift(p);
          } else if constexpr (std::is_same_v<T, CircleItem>) {
            i.centre = shift(i.centre);
          } else {
            i.at = shift(i.at);
          }
        },
        item);
    items_.push_back(std::move(item));
  }
}

double text_width(std::string_view text, const TextStyle& style) {
  // One measuring context per thread: cairo contexts are not shared between threads.
  thread_local const Surface surface = image_surface(1, 1);
  thread_local const Context context(cairo_create(surface.get()));
  set_font(context.get(), style);
  const std::string s(text);
  cairo_text_extents_t extents;
  cairo_text_extents(context.get(), s.c_str(), &extents);
  return extents.x_advance;
}

std::vector<std::uint8_t> encode_png(const Canvas& canvas, double scale) {
  const Surface surface = render(canvas, scale);
  return png_bytes(surface.get());
}

std::string encode_svg(const Canvas& canvas) {
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out +=
      "<svg xmlns=\"http://www.w3.org/2000/svg\" "
      "xmlns:xlink=\"http://www.w3.org/1999/xlink\" width=\"" +
      svg_number(canvas.width()) + "\" height=\"" + svg_number(canvas.height()) +
      "\" viewBox=\"0 0 " + svg_number(canvas.width()) + " " + svg_number(canvas.height()) +
      "\" font-family=\"" + kSvgFontFamily + "\">\n";
  out +=
      "<rect width=\"100%\" height=\"100%\" fill=\"" + svg_colour(canvas.background()) + "\"/>\n";
  for (const CanvasItem& item : canvas.items()) std::visit(SvgWriter{out}, item);
  return out + "</svg>\n";
}

RgbImage rasterize(const Canvas& canvas, double scale) {
  const Surface surface = render(canvas, scale);
  const int width = cairo_image_surface_get_width(surface.get());
  const int height = cairo_image_surface_get_height(surface.get());
  const unsigned char* data = cairo_image_surface_get_data(surface.get());
  const int stride = cairo_image_surface_get_stride(surface.get());
  RgbImage image(width, height);
  for (int y = 0; y < height; ++y) {
    const auto* row =
        reinterpret_cast<const std::uint32_t*>(data + static_cast<std::ptrdiff_t>(y) * stride);
    for (int x = 0; x < width; ++x)
      image.set(x, y,
                Rgb{static_cast<std::uint8_t>(row[x] >> 16), static_cast<std::uint8_t>(row[x] >> 8),
                    static_cast<std::uint8_t>(row[x])});
  }
  return image;
}

void write_figure(const Canvas& canvas, const std::filesystem::path& path) {
  const std::string ext = lower_extension(path);
  if (ext == ".png") {
    write_file(path, encode_png(canvas), "PNG");
  } else if (ext == ".svg") {
    const std::string svg = encode_svg(canvas);
    write_file(path, std::span(reinterpret_cast<const std::uint8_t*>(svg.data()), svg.size()),
               "SVG");
  } else {
    throw Error(path.string() + ": a figure is written as .png or .svg, not '" + ext + "'");
  }
}

}  // namespace ram::viz
