#pragma once
// Pictures of where a trained model looked: one image's episode (the glimpse locations, what the
// retina saw at each step, the answer) replayed with the draws evaluate() uses, drawn as a
// figure in the style of the paper's Figure 3 and as animation frames.
#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "ram/env/image_set.h"
#include "ram/models/ram_model.h"
#include "ram/nn/retina.h"
#include "ram/train/evaluate.h"
#include "ram/viz/canvas.h"

namespace ram::viz {

struct GlimpseStep {
  double x = 0, y = 0;        // the clipped location the retina used, in [-1, 1]
  std::vector<float> retina;  // k*gw*gw values, scale-major, as the network saw them
  // The classifier's class probabilities read from the state after this glimpse (what the model
  // would answer had it stopped here); empty if not recorded.
  std::vector<float> probabilities;
};

struct Episode {
  std::size_t index = 0;  // in the image set
  int rows = 0, cols = 0;
  std::vector<float> image;  // rows x cols, row-major
  RetinaConfig retina;
  std::vector<GlimpseStep> steps;  // the glimpses taken: T, or fewer if the model stopped
  int predicted = 0, label = 0;
};

// The episodes of the images at `indices` of `images`, replaying episode 0 of evaluate() with the
// same options and chunks: the predictions are the ones evaluate() counts (for samples == 1),
// bit for bit. Each step records the classifier's probabilities after it.
std::vector<Episode> record_episodes(const RamModel<float>& model, std::span<const float> params,
                                     const ImageSet& images, std::span<const std::size_t> indices,
                                     const EvalOptions& options);

// `count` indices spread evenly over a set of `size` (all of them if count >= size): evaluation
// sets built from class-sorted digits would otherwise show one class only.
std::vector<std::size_t> spread_indices(std::size_t size, std::size_t count);

struct GlimpseFigureOptions {
  bool finest_only = false;  // one box per glimpse (the finest scale) instead of every scale
};

// The square of image pixels the retina reads at one scale of one step (it may leave the image).
struct PixelBox {
  int col = 0, row = 0, side = 0;
};
PixelBox glimpse_box(const Episode& episode, const GlimpseStep& step, int scale);

// Where the image sits in a figure or frame: image pixel (r, c) covers the pixel_scale x
// pixel_scale block whose top-left corner is (x + c * pixel_scale, y + r * pixel_scale). The
// grey margin around the image reaches as far as the drawn boxes leave it, and no further.
struct ImagePlacement {
  int x = 0, y = 0, pixel_scale = 1;
};
ImagePlacement image_placement(const Episode& episode, const GlimpseFigureOptions& options = {});

// The colour of step t of T: green first, red last, from yellow-green to orange between
// (yellow in the middle).
Rgb step_colour(int t, int steps);

// "pred 3 / true 5".
std::string caption(const Episode& episode);

// The whole image with every step's boxes (all scales, or the finest only), numbered, joined by
// a line through the centres, framed green for a right answer and red for a wrong one; then,
// per step, a column of the retina's scales as the network saw them and, under it, the class
// probabilities after that glimpse (the true class green, a wrong answer red); the caption on
// top and a legend of the colours at the bottom.
Canvas glimpse_figure(const Episode& episode, const GlimpseFigureOptions& options = {});

// A small picture of one episode (the image about `size` pixels wide with the finest box of
// each glimpse and the path, framed in the answer's colour), captioned "image N: pred X / true
// Y": a mistake in the report's row of mistakes.
Canvas glimpse_thumbnail(const Episode& episode, int size = 180);

// One frame per glimpse: the image with the current boxes and the path so far, the current
// retina view and class probabilities, "glimpse t/T" and the true label; the last frame adds
// the prediction. Rasterised at one pixel per logical pixel, for a GIF.
std::vector<RgbImage> glimpse_frames(const Episode& episode,
                                     const GlimpseFigureOptions& options = {});

// Delays for glimpse_frames: every frame `step_centiseconds`, the last (the answer) held longer.
std::vector<int> glimpse_frame_delays(std::size_t frames, int step_centiseconds = 70,
                                      int last_centiseconds = 250);

}  // namespace ram::viz
