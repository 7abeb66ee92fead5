#include "ram/viz/glimpse_figure.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "ram/nn/parameters.h"
#include "ram/util/error.h"

namespace ram::viz {

namespace {

constexpr Rgb kBackground{32, 32, 32};
constexpr Rgb kOutside{64, 64, 64};  // around the image: the retina reads zeros there
constexpr Rgb kPath{80, 200, 255};
constexpr Rgb kLabelGrey{190, 190, 190};
constexpr Rgb kBarGrey{150, 150, 150};
constexpr int kPad = 12;
constexpr double kCaptionFont = 18, kCaptionHeight = 32;
constexpr double kSmallFont = 11, kStepFont = 14;
constexpr int kPanelTarget = 440;  // the image panel's side in pixels, roughly
constexpr int kPatchTarget = 60;   // a retina patch's side in pixels, roughly
constexpr int kPatchGap = 6;
constexpr double kStepHeader = 22;  // the step number above each column of patches
constexpr double kBarRow = 11, kBarHeight = 8;
constexpr double kPanelFrame = 3;

int drawn_scales(const Episode& e, const GlimpseFigureOptions& options) {
  return options.finest_only ? 1 : e.retina.scales;
}

// Image pixels of grey on each side of the image: as far as any drawn box leaves it.
struct Margins {
  int left = 0, top = 0, right = 0, bottom = 0;
};
Margins margins(const Episode& e, const GlimpseFigureOptions& options) {
  Margins m;
  for (const GlimpseStep& step : e.steps)
    for (int s = 0; s < drawn_scales(e, options); ++s) {
      const PixelBox box = glimpse_box(e, step, s);
      m.left = std::max(m.left, -box.col);
      m.top = std::max(m.top, -box.row);
      m.right = std::max(m.right, box.col + box.side - e.cols);
      m.bottom = std::max(m.bottom, box.row + box.side - e.rows);
    }
  return m;
}

struct Panel {
  ImagePlacement at;
  double x = 0, y = 0, width = 0, height = 0;  // the image and its grey margin
};
Panel panel_at(const Episode& e, const GlimpseFigureOptions& options, ImagePlacement at) {
  const Margins m = margins(e, options);
  return {at, static_cast<double>(at.x - m.left * at.pixel_scale),
          static_cast<double>(at.y - m.top * at.pixel_scale),
          static_cast<double>((e.cols + m.left + m.right) * at.pixel_scale),
          static_cast<double>((e.rows + m.top + m.bottom) * at.pixel_scale)};
}

// The image's placement for a panel of about `target` pixels whose frame starts at (x, y).
ImagePlacement placement_for(const Episode& e, const GlimpseFigureOptions& options, int target,
                             int min_scale, int x, int y) {
  const Margins m = margins(e, options);
  const int side = std::max(e.rows + m.top + m.bottom, e.cols + m.left + m.right);
  const int scale = std::max(min_scale, target / side);
  const int frame = static_cast<int>(kPanelFrame);
  return {x + frame + m.left * scale, y + frame + m.top * scale, scale};
}

Panel panel(const Episode& e, const GlimpseFigureOptions& options) {
  return panel_at(e, options, image_placement(e, options));
}

int patch_scale(const Episode& e) {
  return std::max(1, kPatchTarget / e.retina.glimpse_size);
}

double patch_pixels(const Episode& e) {
  return e.retina.glimpse_size * patch_scale(e);
}

int classes(const Episode& e) {
  return static_cast<int>(e.steps.front().probabilities.size());
}

// The height of a column: step number, the retina's scales, and the probability bars.
double column_height(const Episode& e) {
  const double patches = kStepHeader + e.retina.scales * (patch_pixels(e) + kPatchGap);
  return classes(e) == 0 ? patches : patches + 8 + 18 + classes(e) * kBarRow + 16;
}

// The centre of a step's glimpse in figure pixels.
Point centre(const Episode& e, const GlimpseStep& s, ImagePlacement at) {
  return {at.x + location_to_pixel(s.x, e.cols) * at.pixel_scale,
          at.y + location_to_pixel(s.y, e.rows) * at.pixel_scale};
}

bool right_answer(const Episode& e) {
  return e.predicted == e.label;
}

void draw_boxes(Canvas& out, const Episode& e, int t, ImagePlacement at,
                const GlimpseFigureOptions& options, bool numbered) {
  const GlimpseStep& step = e.steps[static_cast<std::size_t>(t)];
  const Rgb colour = step_colour(t, static_cast<int>(e.steps.size()));
  const double ps = at.pixel_scale;
  // The finest scale drawn bolder: it marks where the glimpse is centred.
  for (int s = drawn_scales(e, options) - 1; s >= 0; --s) {
    const PixelBox box = glimpse_box(e, step, s);
    out.stroke_rect(at.x + box.col * ps, at.y + box.row * ps, box.side * ps, box.side * ps, colour,
                    s == 0 ? 2.5 : 1.2);
  }
  if (numbered) {
    const PixelBox inner = glimpse_box(e, step, 0);
    out.text({at.x + inner.col * ps + 4, at.y + inner.row * ps + 4 + kSmallFont},
             std::to_string(t + 1), colour, {kSmallFont, true});
  }
}

// The path through the centres of steps 0..last, with a dot at each centre.
void draw_path(Canvas& out, const Episode& e, int last, ImagePlacement at) {
  const int steps = static_cast<int>(e.steps.size());
  std::vector<Point> centres;
  for (int t = 0; t <= last; ++t)
    centres.push_back(centre(e, e.steps[static_cast<std::size_t>(t)], at));
  out.polyline(centres, kPath, 2);
  for (int t = 0; t <= last; ++t)
    out.circle(centres[static_cast<std::size_t>(t)], 3, step_colour(t, steps));
}

// The image on its grey margin, framed in `frame` (the answer's colour once it is known).
void draw_image(Canvas& out, const Episode& e, const Panel& p, Rgb frame) {
  out.fill_rect(p.x, p.y, p.width, p.height, kOutside);
  out.grey(e.image, e.rows, e.cols, {static_cast<double>(p.at.x), static_cast<double>(p.at.y)},
           p.at.pixel_scale);
  out.stroke_rect(p.x - kPanelFrame, p.y - kPanelFrame, p.width + 2 * kPanelFrame,
                  p.height + 2 * kPanelFrame, frame, kPanelFrame);
}

// Scale s of the retina view of step t, with its top-left corner at (x, y).
void draw_patch(Canvas& out, const Episode& e, int t, int s, double x, double y) {
  const int gw = e.retina.glimpse_size;
  const auto size = static_cast<std::size_t>(gw) * gw;
  const std::span<const float> patch(e.steps[static_cast<std::size_t>(t)].retina.data() + s * size,
                                     size);
  out.grey(patch, gw, gw, {x, y}, patch_scale(e));
}

// Each scale's row of retina patches is labelled with the side of the square it covers.
std::string scale_label(const Episode& e, int scale) {
  return std::to_string(e.retina.glimpse_size << scale) + "px";
}

double labels_width(const Episode& e) {
  return text_width(scale_label(e, e.retina.scales - 1), {kSmallFont}) + 10;
}

// Row labels left of the columns starting at `top`: the scales, then the classes.
void draw_row_labels(Canvas& out, const Episode& e, double x, double top) {
  const double patch = patch_pixels(e);
  for (int s = 0; s < e.retina.scales; ++s)
    out.text({x, top + kStepHeader + s * (patch + kPatchGap) + patch / 2 + 4}, scale_label(e, s),
             kLabelGrey, {kSmallFont});
  const double bars = top + kStepHeader + e.retina.scales * (patch + kPatchGap) + 8;
  if (classes(e) > 0) {
    out.text({x, bars + kSmallFont}, "class probability after each glimpse", kLabelGrey,
             {kSmallFont});
    for (int c = 0; c < classes(e); ++c)
      out.text({x, bars + 18 + c * kBarRow + kBarHeight}, std::to_string(c), kLabelGrey,
               {kSmallFont - 1});
  }
}

// Step t's column at x: its number, the retina's scales, and the class probabilities.
void draw_column(Canvas& out, const Episode& e, int t, double x, double top, bool framed) {
  const int steps = static_cast<int>(e.steps.size());
  const double patch = patch_pixels(e);
  out.text({x, top + kStepFont}, std::to_string(t + 1), step_colour(t, steps), {kStepFont, true});
  for (int s = 0; s < e.retina.scales; ++s) {
    const double y = top + kStepHeader + s * (patch + kPatchGap);
    draw_patch(out, e, t, s, x, y);
    if (framed) out.stroke_rect(x - 2, y - 2, patch + 4, patch + 4, step_colour(t, steps), 2);
  }
  const std::vector<float>& p = e.steps[static_cast<std::size_t>(t)].probabilities;
  if (p.empty()) return;
  const double bars = top + kStepHeader + e.retina.scales * (patch + kPatchGap) + 8 + 18;
  const bool last = t + 1 == steps;
  for (int c = 0; c < static_cast<int>(p.size()); ++c) {
    const Rgb colour = c == e.label ? kGreen : last && c == e.predicted ? kRed : kBarGrey;
    const double y = bars + c * kBarRow;
    out.fill_rect(x, y, patch, kBarHeight, kOutside);
    out.fill_rect(x, y,
                  std::clamp(static_cast<double>(p[static_cast<std::size_t>(c)]), 0.0, 1.0) * patch,
                  kBarHeight, colour);
  }
  const auto top_class = std::max_element(p.begin(), p.end()) - p.begin();
  char text[32];
  std::snprintf(text, sizeof text, "%d: %.0f%%", static_cast<int>(top_class),
                100.0 * static_cast<double>(p[static_cast<std::size_t>(top_class)]));
  out.text({x, bars + static_cast<double>(p.size()) * kBarRow + 12}, text,
           top_class == e.label ? kGreen : kLabelGrey, {kSmallFont - 1});
}

// What the colours mean, in one or more lines from (x, y) within `width`; returns the height.
double draw_legend(Canvas& out, const Episode& e, double x, double y, double width) {
  const int steps = static_cast<int>(e.steps.size());
  struct Entry {
    std::vector<Rgb> swatch;
    bool outline;
    std::string text;
  };
  std::vector<Rgb> gradient;
  for (int t = 0; t < steps; ++t) gradient.push_back(step_colour(t, steps));
  const std::vector<Entry> entries = {{gradient, false, "glimpse 1 to " + std::to_string(steps)},
                                      {{kPath}, false, "path of the glimpse centres"},
                                      {{kGreen}, true, "right answer"},
                                      {{kRed}, true, "wrong answer"},
                                      {{kGreen}, false, "true class"},
                                      {{kRed}, false, "wrong answer's class"}};
  const double swatch = 10, line = 18;
  double cx = x, cy = y;
  for (const Entry& entry : entries) {
    const double w = static_cast<double>(entry.swatch.size()) * swatch + 6 +
                     text_width(entry.text, {kSmallFont}) + 18;
    if (cx > x && cx + w > x + width) cx = x, cy += line;
    for (std::size_t i = 0; i < entry.swatch.size(); ++i) {
      const double sx = cx + static_cast<double>(i) * swatch;
      if (entry.outline)
        out.stroke_rect(sx, cy, swatch, swatch, entry.swatch[i], 2);
      else
        out.fill_rect(sx, cy, swatch, swatch, entry.swatch[i]);
    }
    out.text({cx + static_cast<double>(entry.swatch.size()) * swatch + 6, cy + swatch - 1},
             entry.text, kLabelGrey, {kSmallFont});
    cx += w;
  }
  return cy + line - y;
}

void check(const Episode& e) {
  const std::size_t values = static_cast<std::size_t>(e.retina.output_size());
  if (e.steps.empty()) throw Error("glimpse figure: the episode has no steps");
  if (e.image.size() != static_cast<std::size_t>(e.rows) * e.cols)
    throw Error("glimpse figure: image has " + std::to_string(e.image.size()) +
                " values, not rows x cols");
  for (const GlimpseStep& s : e.steps) {
    if (s.retina.size() != values)
      throw Error("glimpse figure: a step has " + std::to_string(s.retina.size()) +
                  " retina values, the retina gives " + std::to_string(values));
    if (s.probabilities.size() != e.steps.front().probabilities.size())
      throw Error("glimpse figure: the steps have different numbers of class probabilities");
  }
}

}  // namespace

std::vector<Episode> record_episodes(const RamModel<float>& model, std::span<const float> params,
                                     const ImageSet& images, std::span<const std::size_t> indices,
                                     const EvalOptions& options) {
  const ModelConfig& config = model.config();
  if (images.rows != config.image_height || images.cols != config.image_width)
    throw Error("glimpses: images are " + std::to_string(images.rows) + "x" +
                std::to_string(images.cols) + " but the model expects " +
                std::to_string(config.image_height) + "x" + std::to_string(config.image_width));
  for (std::size_t index : indices)
    if (index >= images.size())
      throw Error("glimpses: asked for image " + std::to_string(index) + " of a set of " +
                  std::to_string(images.size()));

  const AlignedVector<float> aligned(params.begin(), params.end());
  const int draws_per_image = model.draws_per_image();
  const auto chunk = static_cast<std::size_t>(kEvaluationChunk);
  std::vector<float> draws;
  Workspace<float> ws;
  std::vector<Mat<float>> step_probs(static_cast<std::size_t>(config.glimpses));
  std::size_t chunk_done = images.size();  // the first image of the chunk in ws, if any
  std::vector<Episode> episodes;
  for (std::size_t index : indices) {
    // The chunk evaluate() runs, so that every number matches its episode exactly.
    const std::size_t lo = index / chunk * chunk;
    if (lo != chunk_done) {
      const std::size_t rows = std::min(chunk, images.size() - lo);
      draws.resize(rows * static_cast<std::size_t>(draws_per_image));
      for (std::size_t i = 0; i < rows; ++i)
        evaluation_draws(options, draws_per_image, lo + i, 0,
                         draws.data() + i * static_cast<std::size_t>(draws_per_image));
      model.forward(aligned.data(), images.image(lo).data(), static_cast<int>(rows), options.mode,
                    draws.data(), ws, options.stop);
      for (int n = 1; n <= config.glimpses; ++n)
        model.step_probabilities(aligned.data(), ws, n,
                                 step_probs[static_cast<std::size_t>(n - 1)]);
      chunk_done = lo;
    }
    const auto row = static_cast<Eigen::Index>(index - lo);
    Episode e;
    e.index = index;
    e.rows = images.rows;
    e.cols = images.cols;
    const std::span<const float> image = images.image(index);
    e.image.assign(image.begin(), image.end());
    e.retina = config.retina;
    // With adaptive stopping, the glimpses the episode took before it stopped.
    const int taken = ws.glimpses_taken[static_cast<std::size_t>(row)];
    for (int t = 0; t < taken; ++t) {
      GlimpseStep step;
      step.x = static_cast<double>(ws.location[t](row, 0));
      step.y = static_cast<double>(ws.location[t](row, 1));
      const auto glimpse = ws.glimpse[t].row(row);
      step.retina.assign(glimpse.data(), glimpse.data() + glimpse.size());
      const auto probs = step_probs[static_cast<std::size_t>(t)].row(row);
      for (Eigen::Index c = 0; c < probs.size(); ++c) step.probabilities.push_back(probs(c));
      e.steps.push_back(std::move(step));
    }
    Eigen::Index predicted;
    ws.probs.row(row).maxCoeff(&predicted);
    e.predicted = static_cast<int>(predicted);
    e.label = images.labels[index];
    episodes.push_back(std::move(e));
  }
  return episodes;
}

std::vector<std::size_t> spread_indices(std::size_t size, std::size_t count) {
  count = std::min(count, size);
  std::vector<std::size_t> indices;
  for (std::size_t i = 0; i < count; ++i) indices.push_back(i * size / count);
  return indices;
}

PixelBox glimpse_box(const Episode& episode, const GlimpseStep& step, int scale) {
  const int side = episode.retina.glimpse_size << scale;
  return {patch_origin(location_to_pixel(step.x, episode.cols), side),
          patch_origin(location_to_pixel(step.y, episode.rows), side), side};
}

ImagePlacement image_placement(const Episode& e, const GlimpseFigureOptions& options) {
  return placement_for(e, options, kPanelTarget, 2, kPad, kPad + static_cast<int>(kCaptionHeight));
}

Rgb step_colour(int t, int steps) {
  if (steps < 2) return kGreen;
  // Green, through yellow, to red.
  const double f = static_cast<double>(t) / (steps - 1);
  const auto mix = [](Rgb a, Rgb b, double w) {
    const auto channel = [w](std::uint8_t x, std::uint8_t y) {
      return static_cast<std::uint8_t>(std::lround(x + (y - x) * w));
    };
    return Rgb{channel(a.r, b.r), channel(a.g, b.g), channel(a.b, b.b)};
  };
  return f <= 0.5 ? mix(kGreen, kYellow, 2 * f) : mix(kYellow, kRed, 2 * f - 1);
}

std::string caption(const Episode& episode) {
  return "pred " + std::to_string(episode.predicted) + " / true " + std::to_string(episode.label);
}

Canvas glimpse_figure(const Episode& e, const GlimpseFigureOptions& options) {
  check(e);
  const int steps = static_cast<int>(e.steps.size());
  const Panel p = panel(e, options);
  const double column = patch_pixels(e) + kPad;
  const double labels_x = p.x + p.width + kPanelFrame + 2 * kPad;
  // The probability header runs across the columns from the labels' left edge.
  const double columns_x = labels_x + labels_width(e);
  const double top = kPad + kCaptionHeight;
  const std::string text = caption(e);
  const double width =
      std::max(columns_x + steps * column, kPad + text_width(text, {kCaptionFont, true}) + kPad);
  const double body = std::max(p.height + 2 * kPanelFrame, column_height(e));
  Canvas measure(width, 1);
  const double legend_height = draw_legend(measure, e, kPad, 0, width - 2 * kPad);
  Canvas out(width, top + body + 12 + legend_height + kPad, kBackground);

  out.text({kPad, kPad + kCaptionFont}, text, right_answer(e) ? kGreen : kRed,
           {kCaptionFont, true});
  draw_image(out, e, p, right_answer(e) ? kGreen : kRed);
  draw_path(out, e, steps - 1, p.at);
  for (int t = 0; t < steps; ++t) draw_boxes(out, e, t, p.at, options, true);
  draw_row_labels(out, e, labels_x, top);
  for (int t = 0; t < steps; ++t) draw_column(out, e, t, columns_x + t * column, top, false);
  draw_legend(out, e, kPad, top + body + 12, width - 2 * kPad);
  return out;
}

Canvas glimpse_thumbnail(const Episode& e, int size) {
  check(e);
  const GlimpseFigureOptions finest{true};
  const int caption_height = 20;
  const Panel p = panel_at(e, finest, placement_for(e, finest, size, 1, 4, caption_height));
  Canvas out(p.x + p.width + kPanelFrame + 4, p.y + p.height + kPanelFrame + 4, kBackground);
  out.text({4, 15}, "image " + std::to_string(e.index) + ": " + caption(e),
           right_answer(e) ? kGreen : kRed, {12, true});
  draw_image(out, e, p, right_answer(e) ? kGreen : kRed);
  draw_path(out, e, static_cast<int>(e.steps.size()) - 1, p.at);
  for (int t = 0; t < static_cast<int>(e.steps.size()); ++t)
    draw_boxes(out, e, t, p.at, finest, false);
  return out;
}

std::vector<RgbImage> glimpse_frames(const Episode& e, const GlimpseFigureOptions& options) {
  check(e);
  const int steps = static_cast<int>(e.steps.size());
  const Panel p = panel(e, options);
  const double labels_x = p.x + p.width + kPanelFrame + 2 * kPad;
  const double view_x = labels_x + labels_width(e);
  const double top = kPad + kCaptionHeight;
  const std::string last_text =
      "glimpse " + std::to_string(steps) + "/" + std::to_string(steps) + "  " + caption(e);
  // The probability header is as wide as the widest thing right of the image.
  const double header =
      classes(e) > 0
          ? text_width("class probability after each glimpse", {kSmallFont}) - labels_width(e)
          : 0;
  const double width = std::max({view_x + std::max(patch_pixels(e), header) + kPad,
                                 kPad + text_width(last_text, {kCaptionFont, true}) + kPad});
  const double height = top + std::max(p.height + 2 * kPanelFrame, column_height(e)) + kPad;
  std::vector<RgbImage> frames;
  for (int t = 0; t < steps; ++t) {
    Canvas frame(width, height, kBackground);
    const bool last = t == steps - 1;
    const std::string text = "glimpse " + std::to_string(t + 1) + "/" + std::to_string(steps) +
                             "  " + (last ? caption(e) : "true " + std::to_string(e.label));
    const Rgb answer = right_answer(e) ? kGreen : kRed;
    frame.text({kPad, kPad + kCaptionFont}, text, last ? answer : kWhite, {kCaptionFont, true});
    draw_image(frame, e, p, last ? answer : kOutside);
    draw_path(frame, e, t, p.at);
    draw_boxes(frame, e, t, p.at, options, false);
    draw_row_labels(frame, e, labels_x, top);
    draw_column(frame, e, t, view_x, top, true);
    frames.push_back(rasterize(frame));
  }
  return frames;
}

std::vector<int> glimpse_frame_delays(std::size_t frames, int step_centiseconds,
                                      int last_centiseconds) {
  std::vector<int> delays(frames, step_centiseconds);
  if (!delays.empty()) delays.back() = last_centiseconds;
  return delays;
}

}  // namespace ram::viz
