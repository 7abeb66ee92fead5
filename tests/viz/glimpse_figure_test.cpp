#include "ram/viz/glimpse_figure.h"

#include <gif_lib.h>
#include <gtest/gtest.h>

#include "ram/util/rng.h"
#include "ram/util/thread_pool.h"
#include "support/image_support.h"
#include "support/test_support.h"

namespace ram::viz {
namespace {

// A 28x28 image (a bright square) with hand-placed glimpses of an 8x8 retina at 2 scales.
Episode hand_made_episode() {
  Episode e;
  e.rows = e.cols = 28;
  e.image.assign(28 * 28, 0.0f);
  for (int r = 10; r < 18; ++r)
    for (int c = 10; c < 18; ++c) e.image[static_cast<std::size_t>(r) * 28 + c] = 1.0f;
  e.retina = {8, 2};
  const double locations[3][2] = {{0.0, 0.0}, {-0.5, 0.25}, {1.0, -1.0}};
  for (const auto& l : locations) {
    GlimpseStep s;
    s.x = l[0];
    s.y = l[1];
    s.retina.resize(static_cast<std::size_t>(e.retina.output_size()));
    retina_extract(e.retina, e.image.data(), e.rows, e.cols, s.x, s.y, s.retina.data());
    e.steps.push_back(std::move(s));
  }
  e.predicted = 3;
  e.label = 5;
  return e;
}

using ram::test::contains_image;
using ram::test::text_image;

TEST(GlimpseBox, UsesTheRetinasPixelMapping) {
  const Episode e = hand_made_episode();
  // (0, 0) is the centre, pixel 14: an 8-wide patch starts at 10, a 16-wide one at 6.
  const PixelBox centre0 = glimpse_box(e, e.steps[0], 0);
  EXPECT_EQ(centre0.col, 10);
  EXPECT_EQ(centre0.row, 10);
  EXPECT_EQ(centre0.side, 8);
  const PixelBox centre1 = glimpse_box(e, e.steps[0], 1);
  EXPECT_EQ(centre1.col, 6);
  EXPECT_EQ(centre1.side, 16);
  // (-0.5, 0.25): column 7, row 17.5 -> patch rows from round(13.5) = 14.
  const PixelBox off = glimpse_box(e, e.steps[1], 0);
  EXPECT_EQ(off.col, 3);
  EXPECT_EQ(off.row, 14);
  // The box holds exactly the pixels the retina averaged: the scale-0 patch equals the image
  // inside the box.
  for (int r = 0; r < 8; ++r)
    for (int c = 0; c < 8; ++c)
      EXPECT_EQ(e.steps[1].retina[static_cast<std::size_t>(r) * 8 + c],
                e.image[static_cast<std::size_t>(off.row + r) * 28 + off.col + c]);
}

// The figure pixels of a box's outline: left and top edges start where the box's first image
// pixel starts, right and bottom edges end where its last image pixel ends.
struct Outline {
  int left, top, right, bottom;
};
Outline outline(const PixelBox& box, const ImagePlacement& at) {
  return {at.x + box.col * at.pixel_scale, at.y + box.row * at.pixel_scale,
          at.x + (box.col + box.side) * at.pixel_scale - 1,
          at.y + (box.row + box.side) * at.pixel_scale - 1};
}

TEST(GlimpseFigure, BoxesLandOnTheirPixels) {
  const Episode e = hand_made_episode();
  const RgbImage figure = glimpse_figure(e);
  const ImagePlacement at = image_placement(e);
  const int s = at.pixel_scale;
  // First step green, last red, the one between yellow.
  const Outline first = outline(glimpse_box(e, e.steps[0], 0), at);
  EXPECT_EQ(figure.at(first.left, first.top + 3 * s), kGreen);
  EXPECT_EQ(figure.at(first.left + 3 * s, first.bottom), kGreen);
  EXPECT_NE(figure.at(first.left - 1, first.top + 3 * s), kGreen);  // the outline's outer edge
  const Outline middle = outline(glimpse_box(e, e.steps[1], 1), at);
  EXPECT_EQ(figure.at(middle.right, middle.bottom), kYellow);
  // The last box sits on the top-right corner, half outside the image, drawn in the margin.
  const PixelBox last_box = glimpse_box(e, e.steps[2], 1);
  EXPECT_EQ(last_box.col, 20);
  EXPECT_EQ(last_box.row, -8);
  const Outline last = outline(last_box, at);
  EXPECT_EQ(figure.at(last.right, last.top), kRed);
  // Inside the boxes, away from every outline, the image shows through: the bright square.
  EXPECT_EQ(figure.at(at.x + 13 * s, at.y + 13 * s), kWhite);
  EXPECT_EQ(figure.at(at.x + 2 * s, at.y + 2 * s), kBlack);
}

TEST(GlimpseFigure, ShowsTheCaptionAndEveryRetinaPatch) {
  const Episode e = hand_made_episode();
  EXPECT_EQ(caption(e), "pred 3 / true 5");
  const RgbImage figure = glimpse_figure(e);
  EXPECT_TRUE(contains_image(figure, text_image("pred 3 / true 5", kRed, {32, 32, 32}, 2)));
  // Each step's coarse patch (the square fully inside, grey levels of 2x2 averages) appears.
  for (const GlimpseStep& s : e.steps) {
    RgbImage patch(8 * 7, 8 * 7);
    patch.draw_grey(std::span(s.retina).subspan(64, 64), 8, 8, 0, 0, 7);
    EXPECT_TRUE(contains_image(figure, patch));
  }
}

TEST(GlimpseFrames, OneFramePerGlimpseAndTheLastHoldsTheAnswer) {
  const Episode e = hand_made_episode();
  const std::vector<RgbImage> frames = glimpse_frames(e);
  ASSERT_EQ(frames.size(), 3u);
  const RgbImage label = text_image("pred 3 / true 5", kRed, {32, 32, 32}, 2);
  EXPECT_FALSE(contains_image(frames[0], label));
  EXPECT_TRUE(contains_image(frames[2], label));
  EXPECT_TRUE(
      contains_image(frames[0], text_image("glimpse 1/3  true 5", kWhite, {32, 32, 32}, 2)));
  // Frame t draws the boxes of step t only.
  const Outline first = outline(glimpse_box(e, e.steps[0], 0), image_placement(e));
  const int s = image_placement(e).pixel_scale;
  EXPECT_EQ(frames[0].at(first.left, first.top + 3 * s), kGreen);
  EXPECT_NE(frames[2].at(first.left, first.top + 3 * s), kGreen);

  const std::vector<int> delays = glimpse_frame_delays(frames.size(), 50, 200);
  EXPECT_EQ(delays, (std::vector<int>{50, 50, 200}));
  test::TempDir dir;
  write_gif(frames, delays, dir.sub("e.gif"));
  int error = 0;
  GifFileType* gif = DGifOpenFileName(dir.sub("e.gif").c_str(), &error);
  ASSERT_NE(gif, nullptr);
  ASSERT_EQ(DGifSlurp(gif), GIF_OK);
  EXPECT_EQ(gif->ImageCount, 3);
  EXPECT_EQ(gif->SWidth, frames[0].width());
  GraphicsControlBlock control;
  ASSERT_EQ(DGifSavedExtensionToGCB(gif, 2, &control), GIF_OK);
  EXPECT_EQ(control.DelayTime, 200);
  DGifCloseFile(gif, &error);
}

TEST(GlimpseFigure, RejectsInconsistentEpisodes) {
  Episode e = hand_made_episode();
  e.steps[1].retina.pop_back();
  test::expect_error([&] { glimpse_figure(e); }, {"retina values"});
  e.steps.clear();
  test::expect_error([&] { glimpse_frames(e); }, {"no steps"});
}

// A small model of 20x20 images whose tests choose the retina and the number of glimpses.
ModelConfig small_model_config(RetinaConfig retina, int glimpses) {
  ModelConfig config;
  config.image_height = config.image_width = 20;
  config.retina = retina;
  config.glimpses = glimpses;
  config.glimpse_hidden = config.location_hidden = 8;
  config.glimpse_features = config.core_size = 16;
  return config;
}

// n random 20x20 images labelled 0, 1, ..., 9, 0, ...
ImageSet random_images(int n, std::uint64_t seed) {
  ImageSet images;
  images.rows = images.cols = 20;
  Rng rng(seed, {1});
  for (int i = 0; i < n; ++i) {
    for (int p = 0; p < 400; ++p) images.pixels.push_back(static_cast<float>(rng.uniform(0, 1)));
    images.labels.push_back(static_cast<std::uint8_t>(i % 10));
  }
  return images;
}

// A small random model on random images: the replayed episodes give exactly evaluate()'s
// predictions, and the recorded glimpses are the retina at the recorded locations.
TEST(RecordEpisodes, ReplaysTheEpisodesEvaluateCounts) {
  const ModelConfig config = small_model_config({4, 2}, 3);
  const RamModel<float> model(config);
  std::vector<float> params(model.parameter_count());
  model.initialize(params, 7, 0.5);
  const ImageSet images = random_images(70, 3);  // more than one 64-image evaluation chunk
  ThreadPool pool(2);
  for (LocationMode mode : {LocationMode::sample, LocationMode::mean}) {
    EvalOptions options;
    options.mode = mode;
    const EvalResult result = evaluate(model, params, images, options, pool);
    const std::vector<std::size_t> all = spread_indices(70, 1000);
    ASSERT_EQ(all.size(), 70u);
    const std::vector<Episode> episodes = record_episodes(model, params, images, all, options);
    ASSERT_EQ(episodes.size(), 70u);
    std::size_t errors = 0;
    for (const Episode& e : episodes) errors += e.predicted != e.label;
    EXPECT_EQ(errors, result.errors);
    // A few images on their own, in any order, replay the same episodes.
    const std::vector<std::size_t> some = {67, 3, 64, 63};
    const std::vector<Episode> replayed = record_episodes(model, params, images, some, options);
    ASSERT_EQ(replayed.size(), 4u);
    for (std::size_t i = 0; i < some.size(); ++i) {
      EXPECT_EQ(replayed[i].index, some[i]);
      EXPECT_EQ(replayed[i].predicted, episodes[some[i]].predicted);
      EXPECT_EQ(replayed[i].steps[2].x, episodes[some[i]].steps[2].x);
      EXPECT_EQ(replayed[i].steps[1].retina, episodes[some[i]].steps[1].retina);
    }
  }
  const std::vector<Episode> one =
      record_episodes(model, params, images, std::vector<std::size_t>{4}, EvalOptions{});
  ASSERT_EQ(one.size(), 1u);
  const Episode& e = one[0];
  EXPECT_EQ(e.label, 4);
  ASSERT_EQ(e.steps.size(), 3u);
  for (const GlimpseStep& s : e.steps) {
    EXPECT_LE(std::abs(s.x), 1.0);
    std::vector<float> expected(static_cast<std::size_t>(config.retina.output_size()));
    retina_extract(config.retina, e.image.data(), 20, 20, s.x, s.y, expected.data());
    EXPECT_EQ(s.retina, expected);
  }
  test::expect_error(
      [&] {
        record_episodes(model, params, images, std::vector<std::size_t>{5, 70}, EvalOptions{});
      },
      {"image 70", "set of 70"});
  EXPECT_EQ(spread_indices(30, 3), (std::vector<std::size_t>{0, 10, 20}));
  EXPECT_EQ(spread_indices(2, 5), (std::vector<std::size_t>{0, 1}));
}

// With adaptive stopping the replay stops where evaluation stops, in either stop mode: the same
// predictions and as many glimpses (it used to replay every episode with sampled stops to T).
TEST(RecordEpisodes, ReplaysAdaptiveStoppingAsEvaluateDoes) {
  ModelConfig config = small_model_config({4, 1}, 4);
  config.adaptive_stopping = true;
  const RamModel<float> model(config);
  std::vector<float> params(model.parameter_count());
  model.initialize(params, 11, 1.0);
  const ImageSet images = random_images(40, 5);
  ThreadPool pool(1);
  for (StopMode stop : {StopMode::sample, StopMode::threshold}) {
    EvalOptions options;
    options.stop = stop;
    const EvalResult result = evaluate(model, params, images, options, pool);
    const std::vector<Episode> episodes =
        record_episodes(model, params, images, spread_indices(40, 40), options);
    std::size_t errors = 0;
    std::vector<std::size_t> histogram(result.glimpse_histogram.size(), 0);
    for (const Episode& e : episodes) {
      errors += e.predicted != e.label;
      ++histogram[e.steps.size()];
    }
    EXPECT_EQ(errors, result.errors);
    EXPECT_EQ(histogram, result.glimpse_histogram);
    if (stop == StopMode::sample) {
      EXPECT_LT(result.mean_glimpses(), 4.0);
    }
  }
}

}  // namespace
}  // namespace ram::viz
