// The rules of Catch: falling, bouncing, paddle moves, catch and miss, episode length, starts.
#include "ram/env/catch_game.h"

#include <gtest/gtest.h>

#include <set>
#include <vector>

namespace {

using ram::CatchAction;
using ram::CatchGames;

constexpr int n = CatchGames::kSize;

TEST(CatchGame, BallFallsOneRowAndMovesOneColumnPerFrame) {
  CatchGames g(1);
  g.set(0, 0, 5, 1, 11);
  g.step(0, CatchAction::stay);
  EXPECT_EQ(g.ball_row(0), 1);
  EXPECT_EQ(g.ball_col(0), 6);
  g.set(0, 0, 5, -1, 11);
  g.step(0, CatchAction::stay);
  EXPECT_EQ(g.ball_col(0), 4);
}

TEST(CatchGame, BallBouncesOffBothWalls) {
  CatchGames g(1);
  g.set(0, 3, 0, -1, 11);
  g.step(0, CatchAction::stay);
  EXPECT_EQ(g.ball_col(0), 1);
  EXPECT_EQ(g.ball_velocity(0), 1);
  g.step(0, CatchAction::stay);
  EXPECT_EQ(g.ball_col(0), 2);
  g.set(0, 3, n - 1, 1, 11);
  g.step(0, CatchAction::stay);
  EXPECT_EQ(g.ball_col(0), n - 2);
  EXPECT_EQ(g.ball_velocity(0), -1);
}

TEST(CatchGame, PaddleMovesOneColumnAndStaysOnScreen) {
  CatchGames g(1);
  g.set(0, 0, 5, 1, 11);
  g.step(0, CatchAction::left);
  EXPECT_EQ(g.paddle(0), 10);
  g.step(0, CatchAction::right);
  g.step(0, CatchAction::right);
  EXPECT_EQ(g.paddle(0), 12);
  g.step(0, CatchAction::stay);
  EXPECT_EQ(g.paddle(0), 12);
  g.set(0, 0, 5, 1, 0);
  g.step(0, CatchAction::left);
  EXPECT_EQ(g.paddle(0), 0);
  g.set(0, 0, 5, 1, n - 2);
  g.step(0, CatchAction::right);
  EXPECT_EQ(g.paddle(0), n - 2);
}

TEST(CatchGame, EpisodeLastsTwentyThreeFrames) {
  CatchGames g(1);
  g.set(0, 0, 7, -1, 11);
  int frames = 0;
  while (!g.done(0)) {
    g.step(0, CatchAction::stay);
    ++frames;
  }
  EXPECT_EQ(frames, CatchGames::kFrames);
  EXPECT_EQ(frames, 23);
  EXPECT_EQ(g.ball_row(0), n - 1);
}

// Ball straight above the paddle's two pixels at the end: caught; one column off: missed.
TEST(CatchGame, CatchAndMiss) {
  CatchGames g(1);
  for (int paddle = 0; paddle <= n - 2; ++paddle) {
    g.set(0, n - 2, 10, 1, paddle);  // lands on column 11
    g.step(0, CatchAction::stay);
    ASSERT_TRUE(g.done(0));
    EXPECT_EQ(g.reward(0), paddle == 10 || paddle == 11 ? 1.0f : 0.0f) << paddle;
  }
  g.set(0, 5, 10, 1, 10);
  EXPECT_EQ(g.reward(0), 0.0f) << "no reward before the end";
}

TEST(CatchGame, ScreenShowsBallAndPaddle) {
  CatchGames g(1);
  g.set(0, 4, 9, 1, 3);
  std::vector<float> screen(CatchGames::kPixels);
  g.render(0, screen.data());
  float total = 0;
  for (float v : screen) total += v;
  EXPECT_EQ(total, 3.0f);
  EXPECT_EQ(screen[4 * n + 9], 1.0f);
  EXPECT_EQ(screen[(n - 1) * n + 3], 1.0f);
  EXPECT_EQ(screen[(n - 1) * n + 4], 1.0f);
}

// Starts: top row, centred paddle, every column and both directions occur; keyed draws repeat.
TEST(CatchGame, StartsAreSeededAndCoverTheTopRow) {
  CatchGames g(1);
  std::set<int> columns, velocities;
  for (std::uint64_t k = 0; k < 2000; ++k) {
    ram::Rng rng(1, {k});
    g.reset(0, rng);
    EXPECT_EQ(g.ball_row(0), 0);
    EXPECT_EQ(g.paddle(0), CatchGames::kPaddleStart);
    columns.insert(g.ball_col(0));
    velocities.insert(g.ball_velocity(0));
  }
  EXPECT_EQ(columns.size(), static_cast<std::size_t>(n));
  EXPECT_EQ(velocities, (std::set<int>{-1, 1}));
  ram::Rng a(5, {3}), b(5, {3});
  CatchGames g2(1);
  g.reset(0, a);
  g2.reset(0, b);
  EXPECT_EQ(g.ball_col(0), g2.ball_col(0));
  EXPECT_EQ(g.ball_velocity(0), g2.ball_velocity(0));
}

// The full-frame tracker catches every ball: it is the ceiling the agent is compared with.
TEST(CatchGame, TrackerCatchesEveryStart) {
  std::vector<float> screen(CatchGames::kPixels), previous(CatchGames::kPixels);
  CatchGames g(1);
  for (int col = 0; col < n; ++col)
    for (int v : {-1, 1}) {
      g.set(0, 0, col, v, CatchGames::kPaddleStart);
      for (bool first = true; !g.done(0); first = false) {
        std::swap(screen, previous);
        g.render(0, screen.data());
        g.step(0, ram::tracking_action(screen.data(), first ? nullptr : previous.data()));
      }
      EXPECT_EQ(g.reward(0), 1.0f) << "column " << col << " velocity " << v;
    }
}

}  // namespace
