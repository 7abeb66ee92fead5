#include "ram/viz/catch_curves.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "ram/util/error.h"
#include "ram/viz/curves.h"

namespace ram::viz {

Canvas catch_curves(const std::vector<CatchCurve>& runs, double random_agent_rate) {
  if (runs.empty()) throw Error("catch curves: no runs to plot");
  for (const CatchCurve& r : runs)
    if (r.metrics.empty()) throw Error("catch curves: " + r.name + " has no metrics lines");
  // The x axis of the longest run; the others leave gaps (NaN) past their end.
  const CatchCurve& longest = *std::max_element(
      runs.begin(), runs.end(),
      [](const CatchCurve& a, const CatchCurve& b) { return a.metrics.size() < b.metrics.size(); });
  LinePlot rate{"catch rate (%)", "million frames", {}, {}, 0, false, {}};
  for (const CatchMetrics& m : longest.metrics)
    rate.x.push_back(static_cast<double>(m.frames) / 1e6);
  LinePlot entropy{"action entropy (nats per frame)", "million frames", rate.x, {}, 0, false, {}};
  const std::size_t points = rate.x.size();
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const Rgb colour = kRunColours[i % std::size(kRunColours)];
    const bool dashed = i >= std::size(kRunColours);
    Series caught{runs[i].name, colour,
                  std::vector<double>(points, std::numeric_limits<double>::quiet_NaN()), dashed};
    Series nats = caught;
    for (std::size_t k = 0; k < runs[i].metrics.size(); ++k) {
      caught.values[k] = 100 * runs[i].metrics[k].catch_rate;
      // The metrics hold the entropy term of the loss: minus the entropy summed over an episode.
      nats.values[k] = -runs[i].metrics[k].entropy / CatchGames::kFrames;
    }
    rate.series.push_back(std::move(caught));
    entropy.series.push_back(std::move(nats));
  }
  rate.series.push_back(
      {"random agent", kRed, std::vector<double>(points, 100 * random_agent_rate), true});
  entropy.series.push_back(
      {"uniform policy", kRed,
       std::vector<double>(points, std::log(static_cast<double>(CatchGames::kActions))), true});
  constexpr double kWidth = 520, kHeight = 340;
  Canvas out(2 * kWidth, kHeight, kWhite);
  out.paste(draw_line_plot(rate, kWidth, kHeight), {0, 0});
  out.paste(draw_line_plot(entropy, kWidth, kHeight), {kWidth, 0});
  return out;
}

double random_agent_catch_rate() {
  constexpr int kEpisodes = 10000;
  return evaluate_catch_reference(CatchReference::random, kEpisodes, kCatchEvalSeed).rate();
}

Canvas catch_curves(const std::vector<CatchMetrics>& history, double random_agent_rate) {
  return catch_curves(std::vector<CatchCurve>{{"training episodes", history}}, random_agent_rate);
}

}  // namespace ram::viz
