#pragma once
// Several runs side by side (`ram compare`): their validation curves on one log axis, and a
// table of their headline figures, from each run's metrics.csv or a model file's history.
#include <optional>
#include <string>
#include <vector>

#include "ram/train/train.h"
#include "ram/viz/canvas.h"
#include "ram/viz/catch_curves.h"

namespace ram::viz {

struct ComparedRun {
  std::string name;  // run_name() of the path it was read from
  std::vector<EpochMetrics> metrics;
};

// The metrics of a run directory (its metrics.csv), of a metrics .csv file, or the history a
// model or checkpoint file (.ram) carries; a missing, corrupt or empty one is a ram::Error naming
// the file.
ComparedRun load_compared_run(const std::string& run);

// Validation error (%) by epoch, one line per run, each run's best epoch ringed; the legend
// gives each run's best and final figures. Throws ram::Error for no runs.
Canvas compare_curves(const std::vector<ComparedRun>& runs);

// The first epoch whose validation error is at or below `target` (a fraction), with the wall
// time summed up to and including it; nothing if no epoch reaches it.
struct TargetReached {
  int epoch = 0;
  double seconds = 0;
};
std::optional<TargetReached> first_reaching(const std::vector<EpochMetrics>& metrics,
                                            double target);

// A Markdown table, one row per run: epochs, final and best validation error (with its epoch),
// the wall time summed over the epochs, then for each target (a fraction) the epoch and wall
// time at which the run first reached it.
std::string compare_table(const std::vector<ComparedRun>& runs,
                          const std::vector<double>& targets = {});

// Catch runs (ram catch train) compare by their catch rate; their metrics.csv starts with the
// columns updates, frames, catch_rate. Throws ram::Error naming an unreadable file.
bool is_catch_run(const std::string& run);
CatchCurve load_compared_catch_run(const std::string& run);
// One row per run: frames, the catch rate of the last and the best metrics line, the first
// line at 90% or more, and the wall time of the last line (of the run's last process).
std::string compare_catch_table(const std::vector<CatchCurve>& runs);

}  // namespace ram::viz
