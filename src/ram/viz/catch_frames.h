#pragma once
// Pictures of Catch episodes: each frame is the screen (scaled up) with the agent's glimpse
// drawn as one box per retina scale, and a caption line with the frame number and the action.
#include <vector>

#include "ram/models/catch_agent.h"
#include "ram/viz/image.h"

namespace ram::viz {

// Colours of the retina's boxes, finest scale first (further scales repeat the last).
inline constexpr Rgb kGlimpseColours[] = {kRed, kYellow, kGreen, kBlue};

// The frames of episode `episode` of ws (played by an agent with this retina), plus one final
// frame showing the outcome; each screen pixel is a scale x scale block.
std::vector<RgbImage> catch_episode_frames(const CatchWorkspace<float>& ws, int episode,
                                           const RetinaConfig& retina, int scale);

}  // namespace ram::viz
