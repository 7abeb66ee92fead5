#pragma once
// The learning curve of a Catch run, from its metrics lines: the catch rate of the training
// episodes and the action policy's entropy, by millions of frames.
#include <string>
#include <vector>

#include "ram/train/catch_train.h"
#include "ram/viz/canvas.h"

namespace ram::viz {

struct CatchCurve {
  std::string name;  // the legend's
  std::vector<CatchMetrics> metrics;
};

// Two plots side by side: catch rate (%) with the random agent's rate as a reference line, and
// the action entropy in nats per frame with the uniform policy's; one line per run. Throws
// ram::Error if there is no run or a run has no metrics lines.
Canvas catch_curves(const std::vector<CatchCurve>& runs, double random_agent_rate);
// The random agent's rate over 10,000 evaluation games: the catch-rate plot's reference line.
double random_agent_catch_rate();

// One run's, its line named "training episodes".
Canvas catch_curves(const std::vector<CatchMetrics>& history, double random_agent_rate);

}  // namespace ram::viz
