#include "ram/viz/catch_curves.h"

#include <cmath>

#include "ram/util/error.h"
#include "ram/viz/curves.h"

namespace ram::viz {

Canvas catch_curves(const std::vector<CatchMetrics>& history, double random_agent_rate) {
  if (history.empty()) throw Error("catch curves: no metrics lines to plot");
  LinePlot rate{"catch rate (%)", "million frames", {}, {}, 0, false, {}};
  LinePlot entropy{"action entropy (nats per frame)", "million frames", {}, {}, 0, false, {}};
  Series caught{"training episodes", kBlue, {}}, random{"random agent", kRed, {}, true};
  Series nats{"entropy", kBlue, {}}, uniform{"uniform policy", kRed, {}, true};
  for (const CatchMetrics& m : history) {
    const double millions = static_cast<double>(m.frames) / 1e6;
    rate.x.push_back(millions);
    entropy.x.push_back(millions);
    caught.values.push_back(100 * m.catch_rate);
    random.values.push_back(100 * random_agent_rate);
    // The metrics hold the entropy term of the loss: minus the entropy summed over an episode.
    nats.values.push_back(-m.entropy / CatchGames::kFrames);
    uniform.values.push_back(std::log(static_cast<double>(CatchGames::kActions)));
  }
  rate.series = {caught, random};
  entropy.series = {nats, uniform};
  constexpr double kWidth = 520, kHeight = 340;
  Canvas out(2 * kWidth, kHeight, kWhite);
  out.paste(draw_line_plot(rate, kWidth, kHeight), {0, 0});
  out.paste(draw_line_plot(entropy, kWidth, kHeight), {kWidth, 0});
  return out;
}

}  // namespace ram::viz
