#include "ram/env/catch_game.h"

#include <algorithm>

namespace ram {

void CatchGames::resize(int count) {
  const auto n = static_cast<std::size_t>(count);
  ball_row_.assign(n, 0);
  ball_col_.assign(n, 0);
  ball_velocity_.assign(n, 1);
  paddle_.assign(n, kPaddleStart);
}

void CatchGames::reset(int i, Rng& rng) {
  const int col = static_cast<int>(rng.below(kSize));
  const int velocity = rng.below(2) == 0 ? -1 : 1;
  set(i, 0, col, velocity, kPaddleStart);
}

void CatchGames::set(int i, int ball_row, int ball_col, int ball_velocity, int paddle) {
  ball_row_[i] = ball_row;
  ball_col_[i] = ball_col;
  ball_velocity_[i] = ball_velocity;
  paddle_[i] = paddle;
}

void CatchGames::render(int i, float* screen) const {
  std::fill(screen, screen + kPixels, 0.0f);
  screen[ball_row_[i] * kSize + ball_col_[i]] = 1.0f;
  for (int k = 0; k < kPaddleWidth; ++k) screen[(kSize - 1) * kSize + paddle_[i] + k] = 1.0f;
}

void CatchGames::step(int i, CatchAction action) {
  paddle_[i] = std::clamp(paddle_[i] + static_cast<int>(action) - 1, 0, kSize - kPaddleWidth);
  int col = ball_col_[i] + ball_velocity_[i];
  if (col < 0 || col >= kSize) {
    ball_velocity_[i] = -ball_velocity_[i];
    col = ball_col_[i] + ball_velocity_[i];
  }
  ball_col_[i] = col;
  ++ball_row_[i];
}

float CatchGames::reward(int i) const {
  const bool caught =
      done(i) && ball_col_[i] >= paddle_[i] && ball_col_[i] < paddle_[i] + kPaddleWidth;
  return caught ? 1.0f : 0.0f;
}

namespace {

// Column of the ball (above the bottom row) on a screen, or -1.
int ball_column(const float* screen) {
  constexpr int n = CatchGames::kSize;
  for (int r = 0; r < n - 1; ++r)
    for (int c = 0; c < n; ++c)
      if (screen[r * n + c] > 0.5f) return c;
  return -1;
}

}  // namespace

CatchAction tracking_action(const float* screen, const float* previous_screen) {
  constexpr int n = CatchGames::kSize;
  int target = ball_column(screen), paddle = -1;
  for (int c = 0; c < n && paddle < 0; ++c)
    if (screen[(n - 1) * n + c] > 0.5f) paddle = c;
  if (target < 0 || paddle < 0) return CatchAction::stay;
  const int previous = previous_screen ? ball_column(previous_screen) : -1;
  if (previous >= 0 && previous != target) {
    const int velocity = target > previous ? 1 : -1;
    target += (target + velocity < 0 || target + velocity >= n) ? -velocity : velocity;
  }
  if (target < paddle) return CatchAction::left;
  if (target >= paddle + CatchGames::kPaddleWidth) return CatchAction::right;
  return CatchAction::stay;
}

}  // namespace ram
