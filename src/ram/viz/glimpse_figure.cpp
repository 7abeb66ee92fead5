#include "ram/viz/glimpse_figure.h"

#include <algorithm>
#include <cmath>

#include "ram/nn/parameters.h"
#include "ram/util/error.h"

namespace ram::viz {

namespace {

constexpr Rgb kBackground{32, 32, 32};
constexpr Rgb kOutside{64, 64, 64};  // around the image: the retina reads zeros there
constexpr Rgb kPath{80, 200, 255};
constexpr int kPad = 10;
constexpr int kTextScale = 2;
constexpr int kPanelTarget = 440;  // the image panel's side in pixels, roughly
constexpr int kPatchTarget = 60;   // a retina patch's side in pixels, roughly
constexpr int kPatchGap = 6;

int largest_patch(const Episode& e) {
  return e.retina.glimpse_size << (e.retina.scales - 1);
}

// Image pixels of grey around the image, enough to show every box whole (a centre is never
// outside the image, so a box leaves it by at most half its side).
int margin(const Episode& e) {
  return largest_patch(e) / 2;
}

int panel_width(const Episode& e) {
  return (e.cols + 2 * margin(e)) * image_placement(e).pixel_scale;
}

int panel_height(const Episode& e) {
  return (e.rows + 2 * margin(e)) * image_placement(e).pixel_scale;
}

int patch_scale(const Episode& e) {
  return std::max(1, kPatchTarget / e.retina.glimpse_size);
}

int patch_pixels(const Episode& e) {
  return e.retina.glimpse_size * patch_scale(e);
}

int text_line() {
  return RgbImage::text_height(kTextScale) + kPad;
}

// The centre of a step's glimpse in figure pixels, for an image placed at `at`.
std::pair<int, int> centre_pixels(const Episode& e, const GlimpseStep& s, ImagePlacement at) {
  const double cx = location_to_pixel(s.x, e.cols), cy = location_to_pixel(s.y, e.rows);
  return {at.x + static_cast<int>(std::lround(cx * at.pixel_scale)),
          at.y + static_cast<int>(std::lround(cy * at.pixel_scale))};
}

void draw_boxes(RgbImage& out, const Episode& e, int t, ImagePlacement at, bool numbered) {
  const GlimpseStep& step = e.steps[static_cast<std::size_t>(t)];
  const Rgb colour = step_colour(t, static_cast<int>(e.steps.size()));
  // The finest scale drawn bolder: it marks where the glimpse is centred.
  const int thickness = at.pixel_scale >= 3 ? 2 : 1;
  for (int s = 0; s < e.retina.scales; ++s) {
    const PixelBox box = glimpse_box(e, step, s);
    out.draw_rect(at.x + box.col * at.pixel_scale, at.y + box.row * at.pixel_scale,
                  box.side * at.pixel_scale, box.side * at.pixel_scale, colour,
                  s == 0 ? thickness : 1);
  }
  if (numbered) {
    const PixelBox inner = glimpse_box(e, step, 0);
    out.draw_text(std::to_string(t + 1), at.x + inner.col * at.pixel_scale + thickness + 1,
                  at.y + inner.row * at.pixel_scale + thickness + 1, colour, 1);
  }
}

// The path through the centres of steps 0..last, with a dot at each centre.
void draw_path(RgbImage& out, const Episode& e, int last, ImagePlacement at) {
  const int steps = static_cast<int>(e.steps.size());
  for (int t = 0; t <= last; ++t) {
    const auto [x, y] = centre_pixels(e, e.steps[static_cast<std::size_t>(t)], at);
    if (t > 0) {
      const auto [px, py] = centre_pixels(e, e.steps[static_cast<std::size_t>(t - 1)], at);
      for (int dx = -1; dx <= 1; ++dx)
        for (int dy = -1; dy <= 1; ++dy) out.draw_line(px + dx, py + dy, x + dx, y + dy, kPath);
    }
  }
  for (int t = 0; t <= last; ++t) {
    const auto [x, y] = centre_pixels(e, e.steps[static_cast<std::size_t>(t)], at);
    out.fill_rect(x - 2, y - 2, 5, 5, step_colour(t, steps));
  }
}

void draw_image(RgbImage& out, const Episode& e, ImagePlacement at) {
  const int m = margin(e) * at.pixel_scale;
  out.fill_rect(at.x - m, at.y - m, panel_width(e), panel_height(e), kOutside);
  out.draw_grey(e.image, e.rows, e.cols, at.x, at.y, at.pixel_scale);
}

// Scale s of the retina view of step t, with its top-left corner at (x, y).
void draw_patch(RgbImage& out, const Episode& e, int t, int s, int x, int y) {
  const int gw = e.retina.glimpse_size;
  const auto size = static_cast<std::size_t>(gw) * gw;
  const std::span<const float> patch(e.steps[static_cast<std::size_t>(t)].retina.data() + s * size,
                                     size);
  out.draw_grey(patch, gw, gw, x, y, patch_scale(e));
}

// Each scale's row of retina patches is labelled with the side of the square it covers.
std::string scale_label(const Episode& e, int scale) {
  return std::to_string(e.retina.glimpse_size << scale) + "px";
}

int scale_labels_width(const Episode& e) {
  return RgbImage::text_width(scale_label(e, e.retina.scales - 1)) + kPad;
}

void draw_scale_labels(RgbImage& out, const Episode& e, int x, int top) {
  const int patch = patch_pixels(e);
  for (int s = 0; s < e.retina.scales; ++s)
    out.draw_text(scale_label(e, s), x,
                  top + s * (patch + kPatchGap) + (patch - RgbImage::text_height()) / 2, kWhite);
}

void check(const Episode& e) {
  const std::size_t values = static_cast<std::size_t>(e.retina.output_size());
  if (e.steps.empty()) throw Error("glimpse figure: the episode has no steps");
  if (e.image.size() != static_cast<std::size_t>(e.rows) * e.cols)
    throw Error("glimpse figure: image has " + std::to_string(e.image.size()) +
                " values, not rows x cols");
  for (const GlimpseStep& s : e.steps)
    if (s.retina.size() != values)
      throw Error("glimpse figure: a step has " + std::to_string(s.retina.size()) +
                  " retina values, the retina gives " + std::to_string(values));
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

ImagePlacement image_placement(const Episode& e) {
  const int m = margin(e);
  const int scale = std::max(2, kPanelTarget / (std::max(e.rows, e.cols) + 2 * m));
  return {kPad + m * scale, kPad + text_line() + m * scale, scale};
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

RgbImage glimpse_figure(const Episode& e) {
  check(e);
  const int steps = static_cast<int>(e.steps.size());
  const int patch = patch_pixels(e);
  const int column = patch + kPad;
  const int labels_x = kPad + panel_width(e) + 2 * kPad;
  const int columns_x = labels_x + scale_labels_width(e);
  const int columns_height = text_line() + e.retina.scales * (patch + kPatchGap);
  const std::string text = caption(e);
  const int width =
      std::max(columns_x + steps * column, kPad + RgbImage::text_width(text, kTextScale) + kPad);
  const int height = kPad + text_line() + std::max(panel_height(e), columns_height) + kPad;
  RgbImage out(width, height, kBackground);

  out.draw_text(text, kPad, kPad, e.predicted == e.label ? kGreen : kRed, kTextScale);
  const ImagePlacement at = image_placement(e);
  draw_image(out, e, at);
  draw_path(out, e, steps - 1, at);
  for (int t = 0; t < steps; ++t) draw_boxes(out, e, t, at, true);

  const int top = kPad + text_line();
  draw_scale_labels(out, e, labels_x, top + text_line());
  for (int t = 0; t < steps; ++t) {
    const int x = columns_x + t * column;
    out.draw_text(std::to_string(t + 1), x, top, step_colour(t, steps), kTextScale);
    for (int s = 0; s < e.retina.scales; ++s)
      draw_patch(out, e, t, s, x, top + text_line() + s * (patch + kPatchGap));
  }
  return out;
}

std::vector<RgbImage> glimpse_frames(const Episode& e) {
  check(e);
  const int steps = static_cast<int>(e.steps.size());
  const int patch = patch_pixels(e);
  const int labels_x = kPad + panel_width(e) + 2 * kPad;
  const int view_x = labels_x + scale_labels_width(e);
  const std::string last_text =
      "glimpse " + std::to_string(steps) + "/" + std::to_string(steps) + "  " + caption(e);
  const int width =
      std::max(view_x + patch + kPad, kPad + RgbImage::text_width(last_text, kTextScale) + kPad);
  const int height =
      kPad + text_line() + std::max(panel_height(e), e.retina.scales * (patch + kPatchGap)) + kPad;
  const ImagePlacement at = image_placement(e);
  std::vector<RgbImage> frames;
  for (int t = 0; t < steps; ++t) {
    RgbImage frame(width, height, kBackground);
    const bool last = t == steps - 1;
    const std::string text = "glimpse " + std::to_string(t + 1) + "/" + std::to_string(steps) +
                             "  " + (last ? caption(e) : "true " + std::to_string(e.label));
    const Rgb text_colour = !last ? kWhite : e.predicted == e.label ? kGreen : kRed;
    frame.draw_text(text, kPad, kPad, text_colour, kTextScale);
    draw_image(frame, e, at);
    draw_path(frame, e, t, at);
    draw_boxes(frame, e, t, at, false);
    const int top = kPad + text_line();
    draw_scale_labels(frame, e, labels_x, top);
    for (int s = 0; s < e.retina.scales; ++s) {
      const int y = top + s * (patch + kPatchGap);
      draw_patch(frame, e, t, s, view_x, y);
      frame.draw_rect(view_x - 2, y - 2, patch + 4, patch + 4, step_colour(t, steps));
    }
    frames.push_back(std::move(frame));
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
