#include "ram/viz/catch_frames.h"

#include <algorithm>
#include <span>
#include <string>

#include "ram/viz/canvas.h"

namespace ram::viz {

namespace {

constexpr int n = CatchGames::kSize;
constexpr double kMargin = 4;
constexpr double kFontSize = 11;

const char* action_name(int a) {
  switch (a) {
    case 0:
      return "left";
    case 2:
      return "right";
    default:
      return "stay";
  }
}

}  // namespace

std::vector<RgbImage> catch_episode_frames(const CatchWorkspace<float>& ws, int episode,
                                           const RetinaConfig& retina, int scale) {
  const double caption = kFontSize + 2 * kMargin;
  const double side = n * scale;
  const Rgb frame_grey{70, 70, 70};
  std::vector<RgbImage> frames;
  const auto e = static_cast<std::size_t>(episode);
  for (int s = 0; s < CatchGames::kFrames; ++s) {
    Canvas image(side, side + caption, kBlack);
    image.grey({ws.screen[s].data() + e * CatchGames::kPixels, CatchGames::kPixels}, n, n, {0, 0},
               scale);
    image.stroke_rect(0, 0, side, side, frame_grey);
    const double cx = (ws.location[s](episode, 0) + 1.0) * 0.5 * n;
    const double cy = (ws.location[s](episode, 1) + 1.0) * 0.5 * n;
    for (int k = retina.scales - 1; k >= 0; --k) {
      const int box = retina.glimpse_size << k;
      const Rgb colour = kGlimpseColours[std::min<std::size_t>(k, std::size(kGlimpseColours) - 1)];
      image.stroke_rect(patch_origin(cx, box) * scale, patch_origin(cy, box) * scale, box * scale,
                        box * scale, colour);
    }
    const std::string text = "frame " + std::to_string(s + 1) + ": " + action_name(ws.action[s][e]);
    image.text({kMargin, side + kMargin + kFontSize * 0.8}, text, kWhite, {kFontSize});
    frames.push_back(rasterize(image));
  }
  // The outcome: the ball on the bottom row, no glimpse.
  Canvas last(side, side + caption, kBlack);
  last.grey({ws.final_screen.data() + e * CatchGames::kPixels, CatchGames::kPixels}, n, n, {0, 0},
            scale);
  last.stroke_rect(0, 0, side, side, frame_grey);
  const bool caught = ws.reward(episode, 0) > 0.5f;
  last.text({kMargin, side + kMargin + kFontSize * 0.8}, caught ? "caught" : "missed",
            caught ? kGreen : kRed, {kFontSize, true});
  frames.push_back(rasterize(last));
  return frames;
}

}  // namespace ram::viz
