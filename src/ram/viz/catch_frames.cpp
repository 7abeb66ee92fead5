#include "ram/viz/catch_frames.h"

#include <algorithm>
#include <span>
#include <string>

namespace ram::viz {

namespace {

constexpr int n = CatchGames::kSize;
constexpr int kMargin = 4;

const char* action_name(int a) {
  switch (a) {
    case 0:
      return "LEFT";
    case 2:
      return "RIGHT";
    default:
      return "STAY";
  }
}

}  // namespace

std::vector<RgbImage> catch_episode_frames(const CatchWorkspace<float>& ws, int episode,
                                           const RetinaConfig& retina, int scale) {
  const int caption = RgbImage::text_height(1) + 2 * kMargin;
  const int width = n * scale, height = n * scale + caption;
  const Rgb frame_grey{70, 70, 70};
  std::vector<RgbImage> frames;
  const auto e = static_cast<std::size_t>(episode);
  for (int s = 0; s < CatchGames::kFrames; ++s) {
    RgbImage image(width, height, kBlack);
    const std::span<const float> screen(ws.screen[s].data() + e * CatchGames::kPixels,
                                        CatchGames::kPixels);
    image.draw_grey(screen, n, n, 0, 0, scale);
    image.draw_rect(0, 0, width, n * scale, frame_grey);
    const double cx = (ws.location[s](episode, 0) + 1.0) * 0.5 * n;
    const double cy = (ws.location[s](episode, 1) + 1.0) * 0.5 * n;
    for (int k = retina.scales - 1; k >= 0; --k) {
      const int side = retina.glimpse_size << k;
      const Rgb colour = kGlimpseColours[std::min<std::size_t>(k, std::size(kGlimpseColours) - 1)];
      image.draw_rect(patch_origin(cx, side) * scale, patch_origin(cy, side) * scale, side * scale,
                      side * scale, colour);
    }
    const std::string text = "FRAME " + std::to_string(s + 1) + " " + action_name(ws.action[s][e]);
    image.draw_text(text, kMargin, n * scale + kMargin, kWhite);
    frames.push_back(std::move(image));
  }
  // The outcome: the ball on the bottom row, no glimpse.
  RgbImage last(width, height, kBlack);
  last.draw_grey({ws.final_screen.data() + e * CatchGames::kPixels, CatchGames::kPixels}, n, n, 0,
                 0, scale);
  last.draw_rect(0, 0, width, n * scale, frame_grey);
  const bool caught = ws.reward(episode, 0) > 0.5f;
  last.draw_text(caught ? "CAUGHT" : "MISSED", kMargin, n * scale + kMargin,
                 caught ? kGreen : kRed);
  frames.push_back(std::move(last));
  return frames;
}

}  // namespace ram::viz
