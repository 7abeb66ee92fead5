#include "ram/viz/glimpse_figure.h"

#include <gif_lib.h>
#include <gtest/gtest.h>

#include <optional>

#include "ram/util/rng.h"
#include "ram/util/thread_pool.h"
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

// The outlines drawn in one colour with one line width (boxes of glimpses).
std::vector<RectItem> outlines(const Canvas& canvas, Rgb colour, double line_width) {
  std::vector<RectItem> out;
  for (const CanvasItem& item : canvas.items())
    if (const auto* r = std::get_if<RectItem>(&item);
        r && r->colour == colour && r->line_width == line_width)
      out.push_back(*r);
  return out;
}

bool has_box(const Canvas& canvas, const PixelBox& box, const ImagePlacement& at, Rgb colour) {
  for (const CanvasItem& item : canvas.items())
    if (const auto* r = std::get_if<RectItem>(&item);
        r && r->line_width > 0 && r->colour == colour && r->x == at.x + box.col * at.pixel_scale &&
        r->y == at.y + box.row * at.pixel_scale && r->width == box.side * at.pixel_scale &&
        r->height == box.side * at.pixel_scale)
      return true;
  return false;
}

bool has_text(const Canvas& canvas, const std::string& text, std::optional<Rgb> colour = {}) {
  for (const TextItem& t : canvas.texts())
    if (t.text == text && (!colour || t.colour == *colour)) return true;
  return false;
}

TEST(GlimpseFigure, BoxesLandOnTheirPixels) {
  const Episode e = hand_made_episode();
  const Canvas figure = glimpse_figure(e);
  const ImagePlacement at = image_placement(e);
  // Every scale of every step, first green, last red, the one between yellow.
  const Rgb colours[3] = {kGreen, kYellow, kRed};
  for (std::size_t t = 0; t < 3; ++t)
    for (int s = 0; s < 2; ++s)
      EXPECT_TRUE(has_box(figure, glimpse_box(e, e.steps[t], s), at, colours[t]))
          << "step " << t << " scale " << s;
  // The last box sits on the top-right corner, half outside the image, and the second's coarse
  // box leaves it by one pixel on the left: the grey margin reaches exactly that far, and not at
  // all below the image.
  const PixelBox last_box = glimpse_box(e, e.steps[2], 1);
  EXPECT_EQ(last_box.col, 20);
  EXPECT_EQ(last_box.row, -8);
  const int s = at.pixel_scale;
  bool margin_found = false;
  for (const CanvasItem& item : figure.items())
    if (const auto* r = std::get_if<RectItem>(&item); r && r->colour == Rgb{64, 64, 64}) {
      margin_found = true;
      EXPECT_EQ(r->x, at.x - 1 * s);
      EXPECT_EQ(r->y, at.y - 8 * s);
      EXPECT_EQ(r->width, (1 + 28 + 8) * s);
      EXPECT_EQ(r->height, (8 + 28) * s);
    }
  EXPECT_TRUE(margin_found);
  // The image itself, at its placement, one cell per image pixel.
  bool image_found = false;
  for (const CanvasItem& item : figure.items())
    if (const auto* g = std::get_if<GreyItem>(&item); g && g->rows == 28)
      image_found = g->at.x == at.x && g->at.y == at.y && g->cell == s && g->values == e.image;
  EXPECT_TRUE(image_found);
}

TEST(GlimpseFigure, FinestOnlyDrawsOneBoxPerGlimpse) {
  const Episode e = hand_made_episode();
  const GlimpseFigureOptions finest{true};
  const Canvas figure = glimpse_figure(e, finest);
  const ImagePlacement at = image_placement(e, finest);
  int boxes = 0;
  for (const Rgb colour : {kGreen, kYellow, kRed})
    boxes += static_cast<int>(outlines(figure, colour, 2.5).size() +
                              outlines(figure, colour, 1.2).size());
  EXPECT_EQ(boxes, 3);
  for (std::size_t t = 0; t < 3; ++t)
    EXPECT_FALSE(
        has_box(figure, glimpse_box(e, e.steps[t], 1), at, step_colour(static_cast<int>(t), 3)));
  EXPECT_TRUE(has_box(figure, glimpse_box(e, e.steps[2], 0), at, kRed));
  // Only the finest box leaves the image (by 4 pixels up and right): a smaller margin.
  bool margin_found = false;
  for (const CanvasItem& item : figure.items())
    if (const auto* r = std::get_if<RectItem>(&item); r && r->colour == Rgb{64, 64, 64}) {
      margin_found = true;
      EXPECT_EQ(r->width, (28 + 4) * at.pixel_scale);
      EXPECT_EQ(r->height, (28 + 4) * at.pixel_scale);
    }
  EXPECT_TRUE(margin_found);
}

TEST(GlimpseFigure, ShowsTheCaptionEveryRetinaPatchAndALegend) {
  const Episode e = hand_made_episode();
  EXPECT_EQ(caption(e), "pred 3 / true 5");
  const Canvas figure = glimpse_figure(e);
  EXPECT_TRUE(has_text(figure, "pred 3 / true 5", kRed));  // a wrong answer, in red
  // The image is framed in red too.
  EXPECT_FALSE(outlines(figure, kRed, 3).empty());
  EXPECT_TRUE(outlines(figure, kGreen, 3).empty());
  // Each step's patches, at each scale, as the network saw them.
  for (const GlimpseStep& step : e.steps)
    for (int scale = 0; scale < 2; ++scale) {
      const std::vector<float> patch(step.retina.begin() + scale * 64,
                                     step.retina.begin() + (scale + 1) * 64);
      bool found = false;
      for (const CanvasItem& item : figure.items())
        if (const auto* g = std::get_if<GreyItem>(&item); g && g->values == patch) found = true;
      EXPECT_TRUE(found);
    }
  for (const char* text : {"glimpse 1 to 3", "path of the glimpse centres", "right answer",
                           "wrong answer", "true class", "8px", "16px"})
    EXPECT_TRUE(has_text(figure, text)) << text;
  // A right answer is green.
  Episode right = e;
  right.predicted = 5;
  const Canvas good = glimpse_figure(right);
  EXPECT_TRUE(has_text(good, "pred 5 / true 5", kGreen));
  EXPECT_FALSE(outlines(good, kGreen, 3).empty());
}

// The filled bars of the probability rows, in drawing order (class 0 of step 1 first).
std::vector<RectItem> bars(const Canvas& canvas) {
  std::vector<RectItem> out;
  for (const CanvasItem& item : canvas.items())
    if (const auto* r = std::get_if<RectItem>(&item);
        r && r->line_width == 0 && r->height == 8 && r->colour != Rgb{64, 64, 64})
      out.push_back(*r);
  return out;
}

TEST(GlimpseFigure, ProbabilityBarsShowWhenTheModelBecomesSure) {
  Episode e = hand_made_episode();
  // Unsure, leaning to 3, then sure of 3 (the answer; the label is 5).
  const std::vector<std::vector<float>> probs = {
      {0.1f, 0.1f, 0.1f, 0.2f, 0.1f, 0.1f, 0.1f, 0.1f, 0.05f, 0.05f},
      {0.0f, 0.0f, 0.0f, 0.6f, 0.0f, 0.4f, 0.0f, 0.0f, 0.0f, 0.0f},
      {0.0f, 0.0f, 0.0f, 0.95f, 0.0f, 0.05f, 0.0f, 0.0f, 0.0f, 0.0f}};
  for (std::size_t t = 0; t < 3; ++t) e.steps[t].probabilities = probs[t];
  const Canvas figure = glimpse_figure(e);
  const std::vector<RectItem> drawn = bars(figure);
  ASSERT_EQ(drawn.size(), 30u);
  const double full = 8 * 7;  // a patch's width: 8 retina pixels of 7
  for (std::size_t t = 0; t < 3; ++t) {
    double sum = 0;
    for (std::size_t c = 0; c < 10; ++c) {
      const RectItem& bar = drawn[t * 10 + c];
      EXPECT_NEAR(bar.width, probs[t][c] * full, 1e-4);
      sum += bar.width;
      // Rows in class order, top to bottom; columns in step order.
      if (c > 0) {
        EXPECT_GT(bar.y, drawn[t * 10 + c - 1].y);
      }
      if (t > 0) {
        EXPECT_GT(bar.x, drawn[(t - 1) * 10 + c].x);
      }
    }
    EXPECT_NEAR(sum, full, 1e-3);  // the probabilities of a step sum to one
  }
  // The true class is green; the wrong answer red at the last step only.
  EXPECT_EQ(drawn[5].colour, kGreen);
  EXPECT_EQ(drawn[20 + 3].colour, kRed);
  EXPECT_NE(drawn[10 + 3].colour, kRed);
  EXPECT_TRUE(has_text(figure, "3: 95%"));
  EXPECT_TRUE(has_text(figure, "class probability after each glimpse"));
  // Steps must agree on the number of classes.
  e.steps[1].probabilities.pop_back();
  test::expect_error([&] { glimpse_figure(e); }, {"class probabilities"});
}

TEST(GlimpseFrames, OneFramePerGlimpseAndTheLastHoldsTheAnswer) {
  const Episode e = hand_made_episode();
  const std::vector<RgbImage> frames = glimpse_frames(e);
  ASSERT_EQ(frames.size(), 3u);
  const ImagePlacement at = image_placement(e);
  const int s = at.pixel_scale;
  // Frame t draws the boxes of step t only: the first box's left edge is green in frame 0.
  const PixelBox first = glimpse_box(e, e.steps[0], 0);
  const int x = at.x + first.col * s, y = at.y + (first.row + 3) * s;
  EXPECT_EQ(frames[0].at(x, y), kGreen);
  EXPECT_NE(frames[2].at(x, y), kGreen);
  // The image is framed in the answer's colour (red: wrong) in the last frame only; the frame
  // lies just left of the one pixel of margin on that side.
  EXPECT_EQ(frames[2].at(at.x - s - 2, at.y + 10), kRed);
  EXPECT_EQ(frames[0].at(at.x - s - 2, at.y + 10), (Rgb{64, 64, 64}));

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

TEST(GlimpseThumbnail, TheImageWithItsGlimpsesAndCaption) {
  const Episode e = hand_made_episode();
  const Canvas thumbnail = glimpse_thumbnail(e, 120);
  EXPECT_TRUE(has_text(thumbnail, "image 0: pred 3 / true 5", kRed));
  EXPECT_LT(thumbnail.width(), 200);
  int boxes = 0;
  for (const Rgb colour : {kGreen, kYellow, kRed})
    boxes += static_cast<int>(outlines(thumbnail, colour, 2.5).size());
  EXPECT_EQ(boxes, 3);  // the finest scale only
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
    // The last step's probabilities are the answer's: their top class is the prediction.
    for (const Episode& e : episodes) {
      const std::vector<float>& last = e.steps.back().probabilities;
      EXPECT_EQ(std::max_element(last.begin(), last.end()) - last.begin(), e.predicted);
    }
    for (std::size_t i = 0; i < some.size(); ++i) {
      EXPECT_EQ(replayed[i].index, some[i]);
      EXPECT_EQ(replayed[i].steps[0].probabilities, episodes[some[i]].steps[0].probabilities);
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
    // The classifier after each glimpse: a distribution over the classes.
    ASSERT_EQ(s.probabilities.size(), 10u);
    double sum = 0;
    for (float p : s.probabilities) sum += p;
    EXPECT_NEAR(sum, 1.0, 1e-5);
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
      // The classifier at the stopping step gives the answer.
      const std::vector<float>& last = e.steps.back().probabilities;
      EXPECT_EQ(std::max_element(last.begin(), last.end()) - last.begin(), e.predicted);
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
