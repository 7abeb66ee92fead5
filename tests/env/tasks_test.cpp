#include "ram/env/tasks.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <string>
#include <vector>

#include "ram/util/error.h"
#include "support/test_support.h"

namespace ram {
namespace {

using test::expect_error;

// Digits whose every pixel is inked (in [0.05, 0.95]), so that a placed digit's bounding box on
// a blank canvas is exactly its placement. Not square, to catch rows/cols mix-ups.
ImageSet make_digits(std::size_t count, int rows, int cols) {
  ImageSet set;
  set.rows = rows;
  set.cols = cols;
  Rng rng(99, {count});
  set.pixels.resize(count * static_cast<std::size_t>(rows) * cols);
  for (auto& p : set.pixels) p = static_cast<float>(rng.uniform(0.05, 0.95));
  for (std::size_t i = 0; i < count; ++i) set.labels.push_back(static_cast<std::uint8_t>(i % 10));
  return set;
}

double sum(std::span<const float> values) {
  return std::accumulate(values.begin(), values.end(), 0.0);
}

std::vector<float> render(const TaskConfig& task, const ImageSet& digits, std::size_t index,
                          Rng& rng) {
  std::vector<float> canvas(static_cast<std::size_t>(task.canvas) * task.canvas, -1.0f);
  render_task(task, digits, index, rng, canvas);
  return canvas;
}

struct Box {
  int top, left, bottom, right;  // inclusive
};

// Bounding box of the non-zero pixels.
Box ink_box(const std::vector<float>& canvas, int side) {
  Box box{side, side, -1, -1};
  for (int r = 0; r < side; ++r) {
    for (int c = 0; c < side; ++c) {
      if (canvas[static_cast<std::size_t>(r) * side + c] != 0.0f) {
        box = {std::min(box.top, r), std::min(box.left, c), std::max(box.bottom, r),
               std::max(box.right, c)};
      }
    }
  }
  return box;
}

// True if the digit appears unchanged with its top-left at (top, left).
bool digit_at(const std::vector<float>& canvas, int side, const ImageSet& digits, std::size_t index,
              int top, int left) {
  const auto digit = digits.image(index);
  for (int r = 0; r < digits.rows; ++r) {
    for (int c = 0; c < digits.cols; ++c) {
      if (canvas[static_cast<std::size_t>(top + r) * side + left + c] !=
          digit[static_cast<std::size_t>(r) * digits.cols + c]) {
        return false;
      }
    }
  }
  return true;
}

TEST(Tasks, KindNames) {
  for (TaskKind kind : {TaskKind::centred, TaskKind::translated, TaskKind::cluttered}) {
    EXPECT_EQ(task_kind_from_string(to_string(kind)), kind);
  }
  EXPECT_EQ(to_string(TaskKind::cluttered), "cluttered");
  expect_error([] { task_kind_from_string("centered"); },
               {"centered", "centred", "translated", "cluttered"});
}

TEST(Tasks, Validate) {
  TaskConfig task;
  EXPECT_NO_THROW(validate(task, 28, 28));
  task.canvas = 27;
  expect_error([&] { validate(task, 28, 28); }, {"canvas 27", "smaller"});
  expect_error([&] { validate(task, 20, 28); }, {"canvas 27", "20x28"});
  task.canvas = 5000;
  expect_error([&] { validate(task, 28, 28); }, {"canvas 5000"});
  task.canvas = 60;
  expect_error([&] { validate(task, 0, 28); }, {"0x28"});

  task.kind = TaskKind::translated;
  task.clutter_pieces = 4;
  expect_error([&] { validate(task, 28, 28); }, {"clutter pieces 4", "translated"});

  task.kind = TaskKind::cluttered;
  EXPECT_NO_THROW(validate(task, 28, 28));
  task.clutter_pieces = -1;
  expect_error([&] { validate(task, 28, 28); }, {"clutter pieces -1"});
  task.clutter_pieces = 4;
  task.clutter_size = 29;
  expect_error([&] { validate(task, 28, 28); }, {"clutter size 29"});
  task.clutter_size = 0;
  expect_error([&] { validate(task, 28, 28); }, {"clutter size 0"});
  task.clutter_size = 12;
  expect_error([&] { validate(task, 10, 28); }, {"clutter size 12", "10x28"});
}

TEST(Tasks, RenderRejectsBadArguments) {
  const ImageSet digits = make_digits(3, 10, 8);
  TaskConfig task{TaskKind::translated, 20, 0, 8};
  Rng rng(1);
  std::vector<float> small(399);
  expect_error([&] { render_task(task, digits, 0, rng, small); }, {"399", "400"});
  std::vector<float> canvas(400);
  expect_error([&] { render_task(task, digits, 3, rng, canvas); }, {"index 3"});
  task.canvas = 9;
  canvas.resize(81);
  expect_error([&] { render_task(task, digits, 0, rng, canvas); }, {"canvas 9"});
}

TEST(Tasks, CentredSameSizeIsPlainCopy) {
  const ImageSet digits = make_digits(4, 9, 9);
  TaskConfig task{TaskKind::centred, 9, 0, 8};
  Rng rng(5);
  const Rng before = rng;
  const auto canvas = render(task, digits, 2, rng);
  EXPECT_TRUE(std::equal(canvas.begin(), canvas.end(), digits.image(2).begin()));
  // No randomness: the generator is untouched.
  Rng after = rng;
  Rng untouched = before;
  EXPECT_EQ(after.next_u64(), untouched.next_u64());
}

TEST(Tasks, CentredOnLargerCanvas) {
  const ImageSet digits = make_digits(2, 10, 8);
  TaskConfig task{TaskKind::centred, 21, 0, 8};
  Rng rng(5);
  const auto canvas = render(task, digits, 1, rng);
  // Offsets floor((21 - 10) / 2) = 5 and floor((21 - 8) / 2) = 6.
  EXPECT_TRUE(digit_at(canvas, 21, digits, 1, 5, 6));
  const Box box = ink_box(canvas, 21);
  EXPECT_EQ(box.top, 5);
  EXPECT_EQ(box.left, 6);
  EXPECT_EQ(box.bottom, 14);
  EXPECT_EQ(box.right, 13);
}

// The digit is copied unchanged to one position fully inside the canvas, and over many draws
// every offset from 0 to canvas - size is reached on both axes.
TEST(Tasks, TranslatedInsideAndCoversRange) {
  const ImageSet digits = make_digits(5, 10, 8);
  const int side = 20;
  TaskConfig task{TaskKind::translated, side, 0, 8};
  std::vector<int> row_hits(side - 10 + 1, 0), col_hits(side - 8 + 1, 0);
  for (std::uint64_t draw = 0; draw < 1500; ++draw) {
    Rng rng(7, {draw});
    const std::size_t index = draw % digits.size();
    const auto canvas = render(task, digits, index, rng);
    const Box box = ink_box(canvas, side);
    ASSERT_GE(box.top, 0);
    ASSERT_GE(box.left, 0);
    ASSERT_EQ(box.bottom - box.top + 1, 10);
    ASSERT_EQ(box.right - box.left + 1, 8);
    ASSERT_TRUE(digit_at(canvas, side, digits, index, box.top, box.left));
    ASSERT_NEAR(sum(canvas), sum(digits.image(index)), 1e-3);
    ++row_hits[box.top];
    ++col_hits[box.left];
  }
  for (std::size_t r = 0; r < row_hits.size(); ++r) EXPECT_GT(row_hits[r], 0) << "row offset " << r;
  for (std::size_t c = 0; c < col_hits.size(); ++c) EXPECT_GT(col_hits[c], 0) << "col offset " << c;
}

TEST(Tasks, TranslatedFollowsDocumentedDraws) {
  const ImageSet digits = make_digits(3, 10, 8);
  TaskConfig task{TaskKind::translated, 30, 0, 8};
  Rng rng(11, {4});
  Rng reference = rng;
  const auto canvas = render(task, digits, 2, rng);
  const int top = static_cast<int>(reference.below(30 - 10 + 1));
  const int left = static_cast<int>(reference.below(30 - 8 + 1));
  EXPECT_TRUE(digit_at(canvas, 30, digits, 2, top, left));
}

TEST(Tasks, ClutteredFollowsDocumentedDraws) {
  const ImageSet digits = make_digits(6, 10, 8);
  const int side = 24;
  TaskConfig task{TaskKind::cluttered, side, 2, 4};
  Rng rng(3, {9});
  Rng reference = rng;
  const auto canvas = render(task, digits, 1, rng);

  std::vector<float> expected(static_cast<std::size_t>(side) * side, 0.0f);
  auto add = [&](std::size_t source, int sr, int sc, int h, int w, int dr, int dc) {
    const auto image = digits.image(source);
    for (int r = 0; r < h; ++r) {
      for (int c = 0; c < w; ++c) {
        float& to = expected[static_cast<std::size_t>(dr + r) * side + dc + c];
        to = std::min(1.0f, to + image[static_cast<std::size_t>(sr + r) * digits.cols + sc + c]);
      }
    }
  };
  for (int piece = 0; piece < 2; ++piece) {
    const auto source = static_cast<std::size_t>(reference.below(digits.size()));
    const int crop_row = static_cast<int>(reference.below(10 - 4 + 1));
    const int crop_col = static_cast<int>(reference.below(8 - 4 + 1));
    const int at_row = static_cast<int>(reference.below(side - 4 + 1));
    const int at_col = static_cast<int>(reference.below(side - 4 + 1));
    add(source, crop_row, crop_col, 4, 4, at_row, at_col);
  }
  const int top = static_cast<int>(reference.below(side - 10 + 1));
  const int left = static_cast<int>(reference.below(side - 8 + 1));
  add(1, 0, 0, 10, 8, top, left);
  EXPECT_EQ(canvas, expected);
  EXPECT_EQ(rng.next_u64(), reference.next_u64());
}

TEST(Tasks, ClutteredWithoutPiecesIsTranslated) {
  const ImageSet digits = make_digits(3, 10, 8);
  TaskConfig translated{TaskKind::translated, 30, 0, 8};
  TaskConfig cluttered{TaskKind::cluttered, 30, 0, 8};
  Rng a(21, {1});
  Rng b(21, {1});
  EXPECT_EQ(render(translated, digits, 0, a), render(cluttered, digits, 0, b));
}

// The paper's 60x60 task with four 8x8 pieces: values stay in [0, 1] and the distractors add
// ink beyond the digit's own.
TEST(Tasks, ClutteredClipsAndAddsInk) {
  ImageSet digits = make_digits(20, 28, 28);
  // Bright digits, so overlapping pieces must be clipped.
  for (auto& p : digits.pixels) p = std::min(1.0f, p + 0.5f);
  TaskConfig task{TaskKind::cluttered, 60, 4, 8};
  bool clipped = false;
  for (std::uint64_t i = 0; i < 200; ++i) {
    Rng rng(13, {i});
    const std::size_t index = i % digits.size();
    const auto canvas = render(task, digits, index, rng);
    for (float p : canvas) ASSERT_TRUE(p >= 0.0f && p <= 1.0f) << p;
    clipped =
        clipped || std::count(canvas.begin(), canvas.end(), 1.0f) >
                       std::count(digits.image(index).begin(), digits.image(index).end(), 1.0f);
    EXPECT_GT(sum(canvas), sum(digits.image(index)) + 1.0) << "image " << i;
  }
  EXPECT_TRUE(clipped);
}

TEST(Tasks, Determinism) {
  const ImageSet digits = make_digits(5, 12, 12);
  TaskConfig task{TaskKind::cluttered, 40, 3, 6};
  Rng a(42, {3});
  Rng b(42, {3});
  Rng other_key(42, {4});
  Rng other_seed(43, {3});
  const auto first = render(task, digits, 2, a);
  EXPECT_EQ(first, render(task, digits, 2, b));
  EXPECT_NE(first, render(task, digits, 2, other_key));
  EXPECT_NE(first, render(task, digits, 2, other_seed));
}

TEST(Tasks, RenderTaskSetIsReproducible) {
  const ImageSet digits = make_digits(12, 10, 8);
  TaskConfig task{TaskKind::cluttered, 32, 2, 5};
  const ImageSet set = render_task_set(task, digits, 2024);
  ASSERT_EQ(set.size(), 12u);
  EXPECT_EQ(set.rows, 32);
  EXPECT_EQ(set.cols, 32);
  EXPECT_EQ(set.labels, digits.labels);
  ASSERT_EQ(set.pixels.size(), 12u * 32 * 32);
  const ImageSet again = render_task_set(task, digits, 2024);
  EXPECT_EQ(set.pixels, again.pixels);
  EXPECT_NE(set.pixels, render_task_set(task, digits, 2025).pixels);
  for (std::size_t i = 0; i < set.size(); ++i) {
    Rng rng(2024, {i});
    const auto canvas = render(task, digits, i, rng);
    EXPECT_TRUE(std::equal(canvas.begin(), canvas.end(), set.image(i).begin())) << "image " << i;
  }
  // Identical digits get different placements at different indices.
  ImageSet same;
  same.rows = digits.rows;
  same.cols = digits.cols;
  for (int i = 0; i < 5; ++i) {
    same.pixels.insert(same.pixels.end(), digits.image(0).begin(), digits.image(0).end());
    same.labels.push_back(0);
  }
  const ImageSet placed = render_task_set(TaskConfig{TaskKind::translated, 32, 0, 8}, same, 1);
  int distinct = 0;
  for (std::size_t i = 1; i < placed.size(); ++i) {
    distinct +=
        !std::equal(placed.image(i).begin(), placed.image(i).end(), placed.image(0).begin());
  }
  EXPECT_GE(distinct, 3);
}

}  // namespace
}  // namespace ram
