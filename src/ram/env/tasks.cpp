#include "ram/env/tasks.h"

#include <algorithm>

#include "ram/util/error.h"

namespace ram {
namespace {

constexpr int kMaxCanvas = 4096;
constexpr int kMaxClutterPieces = 10000;

// A digit image or canvas: row-major, `cols` wide.
struct Plane {
  int cols;
  std::span<const float> pixels;
};

// Adds the h x w window of src whose top-left is (src_row, src_col) into dst at (dst_row,
// dst_col), clipping each sum at 1. On a blank canvas this is a plain copy.
void add_clipped(Plane src, int src_row, int src_col, int h, int w, std::span<float> dst,
                 int dst_cols, int dst_row, int dst_col) {
  for (int r = 0; r < h; ++r) {
    const float* from =
        src.pixels.data() + static_cast<std::size_t>(src_row + r) * src.cols + src_col;
    float* to = dst.data() + static_cast<std::size_t>(dst_row + r) * dst_cols + dst_col;
    for (int c = 0; c < w; ++c) to[c] = std::min(1.0f, to[c] + from[c]);
  }
}

// Uniform in [0, n).
int draw(Rng& rng, int n) {
  return static_cast<int>(rng.below(static_cast<std::uint64_t>(n)));
}

}  // namespace

std::string to_string(TaskKind kind) {
  switch (kind) {
    case TaskKind::centred:
      return "centred";
    case TaskKind::translated:
      return "translated";
    case TaskKind::cluttered:
      return "cluttered";
  }
  return "unknown";
}

TaskKind task_kind_from_string(const std::string& name) {
  for (TaskKind kind : {TaskKind::centred, TaskKind::translated, TaskKind::cluttered}) {
    if (name == to_string(kind)) return kind;
  }
  throw Error("task '" + name + "' is unknown (valid: centred, translated, cluttered)");
}

void validate(const TaskConfig& task, int digit_rows, int digit_cols) {
  const std::string digit = std::to_string(digit_rows) + "x" + std::to_string(digit_cols);
  if (digit_rows <= 0 || digit_cols <= 0) throw Error("task: digits of " + digit + " pixels");
  if (task.canvas < std::max(digit_rows, digit_cols)) {
    throw Error("task: canvas " + std::to_string(task.canvas) + " is smaller than the " + digit +
                " digit");
  }
  if (task.canvas > kMaxCanvas) {
    throw Error("task: canvas " + std::to_string(task.canvas) + " is larger than " +
                std::to_string(kMaxCanvas));
  }
  if (task.clutter_pieces < 0 || task.clutter_pieces > kMaxClutterPieces) {
    throw Error("task: clutter pieces " + std::to_string(task.clutter_pieces) + " is outside [0, " +
                std::to_string(kMaxClutterPieces) + "]");
  }
  if (task.kind != TaskKind::cluttered) {
    // A clutter count given for another task is almost surely a mistaken task name.
    if (task.clutter_pieces != 0) {
      throw Error("task: clutter pieces " + std::to_string(task.clutter_pieces) +
                  " given for the " + to_string(task.kind) + " task (only cluttered uses them)");
    }
    return;
  }
  if (task.clutter_size < 1 || task.clutter_size > std::min(digit_rows, digit_cols)) {
    throw Error("task: clutter size " + std::to_string(task.clutter_size) + " is outside [1, " +
                std::to_string(std::min(digit_rows, digit_cols)) + "] for " + digit + " digits");
  }
}

void render_task(const TaskConfig& task, const ImageSet& digits, std::size_t index, Rng& rng,
                 std::span<float> canvas_out) {
  validate(task, digits.rows, digits.cols);
  if (index >= digits.size()) {
    throw Error("task: image index " + std::to_string(index) + " is outside a set of " +
                std::to_string(digits.size()));
  }
  const std::size_t canvas_size = static_cast<std::size_t>(task.canvas) * task.canvas;
  if (canvas_out.size() != canvas_size) {
    throw Error("task: output buffer holds " + std::to_string(canvas_out.size()) +
                " floats, the canvas needs " + std::to_string(canvas_size));
  }
  std::fill(canvas_out.begin(), canvas_out.end(), 0.0f);
  const int rows = digits.rows;
  const int cols = digits.cols;
  const Plane target{cols, digits.image(index)};

  if (task.kind == TaskKind::centred) {
    add_clipped(target, 0, 0, rows, cols, canvas_out, task.canvas, (task.canvas - rows) / 2,
                (task.canvas - cols) / 2);
    return;
  }
  if (task.kind == TaskKind::cluttered) {
    const int s = task.clutter_size;
    for (int piece = 0; piece < task.clutter_pieces; ++piece) {
      const std::size_t source = rng.below(digits.size());
      const int crop_row = draw(rng, rows - s + 1);
      const int crop_col = draw(rng, cols - s + 1);
      const int at_row = draw(rng, task.canvas - s + 1);
      const int at_col = draw(rng, task.canvas - s + 1);
      add_clipped(Plane{cols, digits.image(source)}, crop_row, crop_col, s, s, canvas_out,
                  task.canvas, at_row, at_col);
    }
  }
  const int at_row = draw(rng, task.canvas - rows + 1);
  const int at_col = draw(rng, task.canvas - cols + 1);
  add_clipped(target, 0, 0, rows, cols, canvas_out, task.canvas, at_row, at_col);
}

ImageSet render_task_set(const TaskConfig& task, const ImageSet& digits, std::uint64_t seed) {
  validate(task, digits.rows, digits.cols);
  ImageSet out;
  out.rows = task.canvas;
  out.cols = task.canvas;
  out.labels = digits.labels;
  out.pixels.resize(digits.size() * out.image_size());
  for (std::size_t i = 0; i < digits.size(); ++i) {
    Rng rng(seed, {i});
    render_task(task, digits, i, rng, out.image(i));
  }
  return out;
}

}  // namespace ram
