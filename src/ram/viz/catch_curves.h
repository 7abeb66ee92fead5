#pragma once
// The learning curve of a Catch run, from its metrics lines: the catch rate of the training
// episodes and the action policy's entropy, by millions of frames.
#include <vector>

#include "ram/train/catch_train.h"
#include "ram/viz/canvas.h"

namespace ram::viz {

// Two plots side by side: catch rate (%) with the random agent's rate as a reference line, and
// the action entropy in nats per frame. Throws ram::Error if there are no metrics lines.
Canvas catch_curves(const std::vector<CatchMetrics>& history, double random_agent_rate);

}  // namespace ram::viz
