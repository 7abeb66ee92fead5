#pragma once
// The digits an adaptive-stopping model stopped on earliest and latest, with their glimpses:
// the picture `ram tradeoff --examples` writes.
#include <span>

#include "ram/env/image_set.h"
#include "ram/models/ram_model.h"
#include "ram/train/evaluate.h"
#include "ram/util/thread_pool.h"
#include "ram/viz/canvas.h"

namespace ram::viz {

// Two rows of `per_row` images of `images`: those the model took the fewest glimpses on (top)
// and the most (bottom) in the episodes evaluate() plays with `options` (ram tradeoff uses mean
// locations and thresholded stopping). Each shows its glimpses as first-scale squares, numbered,
// the last in red, and its glimpse count, with "(wrong)" in red for a mistake. Images with equal
// counts come in a fixed shuffled order, so that a row is not all of one class.
Canvas stopping_examples(const RamModel<float>& model, std::span<const float> params,
                         const ImageSet& images, const EvalOptions& options, int per_row,
                         ThreadPool& pool);

}  // namespace ram::viz
