#pragma once
// Catch (Mnih et al. 2014, section 4.2) on a binary screen, as a batch of independent games.
//
// Rules (the paper leaves these open; we fix them here, and tests pin them):
//   - The screen is kSize x kSize (24 x 24) pixels, 1 where the ball or the paddle is, else 0.
//   - The ball is one pixel. It starts on the top row (row 0) in a column drawn uniformly from
//     0..23, with a horizontal velocity drawn uniformly from {-1, +1}. Every frame it falls one
//     row and moves one column sideways; a move past a side wall is reflected (the ball at
//     column 0 moving left goes to column 1 and then moves right).
//   - The paddle is two pixels on the bottom row; its left pixel starts at column 11 (centred)
//     and moves one column per frame (left, stay, right), clamped to the screen.
//   - On every frame the agent sees the screen and chooses an action; then the paddle moves and
//     the ball moves. After kFrames (23) actions the ball reaches the bottom row and the episode
//     ends: reward 1 if the ball is over one of the paddle's two pixels, else 0.
// Each game's start is drawn from Rng(seed, {key...}) given by the caller, so a game depends on
// its own keys only.
#include <cstdint>
#include <initializer_list>
#include <vector>

#include "ram/util/rng.h"

namespace ram {

enum class CatchAction : int { left = 0, stay = 1, right = 2 };

class CatchGames {
 public:
  static constexpr int kSize = 24;
  static constexpr int kPixels = kSize * kSize;
  static constexpr int kFrames = kSize - 1;  // actions (and screens seen) per episode
  static constexpr int kActions = 3;
  static constexpr int kPaddleWidth = 2;
  static constexpr int kPaddleStart = kSize / 2 - 1;

  explicit CatchGames(int count = 0) { resize(count); }
  void resize(int count);
  int size() const { return static_cast<int>(ball_row_.size()); }

  // Starts game i from a fresh draw of rng.
  void reset(int i, Rng& rng);
  // Starts game i at a given position (tests).
  void set(int i, int ball_row, int ball_col, int ball_velocity, int paddle);

  // Writes game i's screen (kPixels floats, row-major, 0 or 1).
  void render(int i, float* screen) const;
  // Moves game i's paddle by the action, then its ball by one frame.
  void step(int i, CatchAction action);

  bool done(int i) const { return ball_row_[i] >= kSize - 1; }
  // 1 when the ball is on the bottom row over the paddle, else 0.
  float reward(int i) const;

  int ball_row(int i) const { return ball_row_[i]; }
  int ball_col(int i) const { return ball_col_[i]; }
  int ball_velocity(int i) const { return ball_velocity_[i]; }
  int paddle(int i) const { return paddle_[i]; }  // column of the paddle's left pixel

 private:
  std::vector<int> ball_row_, ball_col_, ball_velocity_, paddle_;
};

// The hand-written full-frame reference: reads the whole screen and the one before (so it knows
// the ball's direction) and moves the paddle towards the column the ball moves to next. With no
// previous screen (the first frame) it moves towards the ball's current column.
CatchAction tracking_action(const float* screen, const float* previous_screen);

}  // namespace ram
