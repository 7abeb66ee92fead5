// The Catch agent's policies: greedy, sampled and without draws, and the weighted total of its
// loss. Its gradient against finite differences is in the table of
// tests/models/model_gradient_check_test.cpp.
#include "ram/models/catch_agent.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "ram/env/catch_game.h"
#include "ram/util/rng.h"
#include "support/model_support.h"

// Inside ram::test: the library's names and the fixtures of support/model_support.h unqualified.
namespace ram::test {
namespace {

TEST(CatchAgent, GreedyPolicyFollowsTheMeanAndTheMostLikelyAction) {
  const CatchAgent<double> agent(small_catch_config("lstm"));
  const std::vector<double> params = random_catch_params(agent, 3);
  CatchGames games = start_catch_games();
  CatchWorkspace<double> ws;
  agent.play(params.data(), games, 0, kCatchGames, CatchPolicy::greedy, nullptr, {}, ws);
  for (int s = 0; s < CatchGames::kFrames; ++s)
    for (int i = 0; i < kCatchGames; ++i) {
      EXPECT_EQ(ws.sample[s](i, 0), ws.mean[s](i, 0));
      Eigen::Index best;
      ws.probs[s].row(i).maxCoeff(&best);
      EXPECT_EQ(ws.action[s][static_cast<std::size_t>(i)], best);
    }
  for (int i = 0; i < kCatchGames; ++i) EXPECT_TRUE(games.done(i));
}

// Sampled actions follow the policy's probabilities: with draws u, action k is chosen when u
// falls in [P(< k), P(<= k)).
TEST(CatchAgent, SampledActionsInvertTheCumulativeProbabilities) {
  const CatchAgent<double> agent(small_catch_config("lstm"));
  const std::vector<double> params = random_catch_params(agent, 4);
  ram::Rng rng(9);
  std::vector<double> draws(static_cast<std::size_t>(kCatchGames) * agent.draws_per_episode());
  for (auto& d : draws) d = rng.uniform();
  CatchGames games = start_catch_games();
  CatchWorkspace<double> ws;
  agent.play(params.data(), games, 0, kCatchGames, CatchPolicy::sample, draws.data(), {}, ws);
  for (int s = 0; s < CatchGames::kFrames; ++s)
    for (int i = 0; i < kCatchGames; ++i) {
      const double u = draws[(static_cast<std::size_t>(i) * CatchGames::kFrames + s) * 3 + 2];
      const int a = ws.action[s][static_cast<std::size_t>(i)];
      double below = 0;
      for (int k = 0; k < a; ++k) below += ws.probs[s](i, k);
      EXPECT_LE(below, u);
      if (a < 2) {
        EXPECT_LT(u, below + ws.probs[s](i, a));
      }
    }
}

// Without draws, play uses zeros, as RamModel::forward does, instead of reading through null.
TEST(CatchAgent, MissingDrawsAreZeros) {
  const CatchAgent<double> agent(small_catch_config("lstm"));
  const std::vector<double> params = random_catch_params(agent, 4);
  const std::vector<double> zeros(static_cast<std::size_t>(kCatchGames) *
                                  agent.draws_per_episode());
  for (CatchPolicy policy : {CatchPolicy::sample, CatchPolicy::given}) {
    CatchGames with_zeros = start_catch_games(), without = start_catch_games();
    CatchWorkspace<double> a, b;
    agent.play(params.data(), with_zeros, 0, kCatchGames, policy, zeros.data(), {}, a);
    agent.play(params.data(), without, 0, kCatchGames, policy, nullptr, {}, b);
    for (int s = 0; s < CatchGames::kFrames; ++s) {
      EXPECT_EQ(a.action[s], b.action[s]);
      EXPECT_EQ(a.sample[s], b.sample[s]);
    }
    EXPECT_EQ(a.reward, b.reward);
  }
}

// The weighted total includes the entropy term, so that training stops on a non-finite entropy
// as on any other non-finite term (it used to check only REINFORCE and the baseline).
TEST(CatchLossSums, TotalWeighsEveryTermAndCarriesANonFiniteEntropy) {
  ram::CatchLossSums sums;
  sums.reinforce = 2;
  sums.baseline = 3;
  sums.entropy = -5;
  const CatchLossWeights w{.reinforce = 0.5, .baseline = 2, .entropy = 0.1, .discount = 1};
  EXPECT_DOUBLE_EQ(sums.total(w), 0.5 * 2 + 2 * 3 + 0.1 * -5);
  sums.entropy = std::nan("");
  EXPECT_FALSE(std::isfinite(sums.total(w)));
}

}  // namespace
}  // namespace ram::test
