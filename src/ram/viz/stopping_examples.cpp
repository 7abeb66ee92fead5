#include "ram/viz/stopping_examples.h"

#include <algorithm>
#include <numeric>
#include <string>
#include <vector>

#include "ram/util/rng.h"
#include "ram/viz/glimpse_figure.h"

namespace ram::viz {

Canvas stopping_examples(const RamModel<float>& model, std::span<const float> params,
                         const ImageSet& images, const EvalOptions& options, int per_row,
                         ThreadPool& pool) {
  const std::vector<int> taken = evaluate(model, params, images, options, pool).glimpses_taken;
  const std::size_t n = taken.size();
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  Rng rng(1, {0xe8a});
  for (std::size_t i = n; i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return taken[a] < taken[b]; });
  const std::size_t shown = std::min<std::size_t>(static_cast<std::size_t>(per_row), n);
  std::vector<std::size_t> picked(order.begin(), order.begin() + static_cast<long>(shown));
  picked.insert(picked.end(), order.end() - static_cast<long>(shown), order.end());
  const std::vector<Episode> episodes = record_episodes(model, params, images, picked, options);

  const double scale = 2, side = images.cols * scale, cell = side + 10, label_h = 26;
  Canvas grid(per_row * cell + 10, 2 * (cell + label_h) + 10, kWhite);
  for (std::size_t k = 0; k < episodes.size(); ++k) {
    const Episode& e = episodes[k];
    const int r = k < shown ? 0 : 1, c = static_cast<int>(k < shown ? k : k - shown);
    const double x = 10 + c * cell, y = 10 + r * (cell + label_h);
    grid.grey(e.image, e.rows, e.cols, {x, y}, scale);
    for (std::size_t t = 0; t < e.steps.size(); ++t) {
      const PixelBox box = glimpse_box(e, e.steps[t], 0);
      const Rgb colour = t + 1 == e.steps.size() ? kRed : kYellow;
      const double bx = x + box.col * scale, by = y + box.row * scale;
      grid.stroke_rect(bx, by, box.side * scale, box.side * scale, colour, 1.5);
      grid.text({bx + 3, by + 11}, std::to_string(t + 1), colour, {10, true});
    }
    const std::size_t count = e.steps.size();
    const bool right = e.predicted == e.label;
    const std::string caption =
        std::to_string(count) + " glimpse" + (count > 1 ? "s" : "") + (right ? "" : " (wrong)");
    grid.text({x, y + side + 16}, caption, right ? kBlack : kRed, {12, !right});
  }
  return grid;
}

}  // namespace ram::viz
