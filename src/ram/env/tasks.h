#pragma once
// The paper's data sets, rendered from a set of digits:
//   centred    - the digit in the middle of the canvas (28x28 MNIST when canvas == 28);
//   translated - the digit at a uniformly random position fully inside a blank canvas (60x60);
//   cluttered  - as translated, plus clutter_pieces distractors: clutter_size x clutter_size crops
//                of random digits at random positions, all added and clipped to 1 (the DeepMind
//                cluttered-MNIST generator; 60x60 with 4 pieces, 100x100 with 8).
// Training draws a new placement each time an image is used (render_task with a generator keyed
// by epoch and index); evaluation uses one fixed rendering (render_task_set).
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "ram/env/image_set.h"
#include "ram/util/rng.h"

namespace ram {

enum class TaskKind { centred, translated, cluttered };

std::string to_string(TaskKind kind);
// Throws ram::Error listing the valid names.
TaskKind task_kind_from_string(const std::string& name);

struct TaskConfig {
  TaskKind kind = TaskKind::centred;
  int canvas = 28;         // the canvas is canvas x canvas pixels
  int clutter_pieces = 0;  // cluttered only
  int clutter_size = 8;    // side of each distractor crop; cluttered only
};

// Throws ram::Error unless the task can be rendered from digits of digit_rows x digit_cols: the
// canvas must hold the digit (and be at most 4096), clutter settings must be used only by the
// cluttered task, clutter_pieces in [0, 10000], clutter_size in [1, min(digit_rows, digit_cols)].
void validate(const TaskConfig& task, int digit_rows, int digit_cols);

// Writes image `index` of digits, rendered for task, into canvas_out (canvas * canvas floats,
// row-major, values in [0, 1]).
// Random draws, in this order, all with rng.below(n) (uniform in [0, n)):
//   centred:    none;
//   translated: top row in [0, canvas - rows], then left column in [0, canvas - cols];
//   cluttered:  for each of the clutter_pieces distractors: the source digit in [0, digits.size()),
//               the crop's top row and left column inside that digit, then the crop's top row
//               and left column on the canvas; after all distractors, the target digit's top row
//               and left column as for translated.
void render_task(const TaskConfig& task, const ImageSet& digits, std::size_t index, Rng& rng,
                 std::span<float> canvas_out);

// Renders every digit once, image i with Rng(seed, {i}), labels copied: a fixed evaluation set
// (the same seed gives the identical set).
ImageSet render_task_set(const TaskConfig& task, const ImageSet& digits, std::uint64_t seed);

}  // namespace ram
