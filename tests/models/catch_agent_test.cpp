// The Catch agent: finite-difference gradients in double of the whole episode loss (locations
// and actions given), the policies, and what the gradient reaches.
#include "ram/models/catch_agent.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "ram/util/rng.h"

namespace {

using ram::CatchAgent;
using ram::CatchAgentConfig;
using ram::CatchGames;
using ram::CatchLossWeights;
using ram::CatchPolicy;
using ram::CatchWorkspace;
using ram::ParamSlot;

constexpr int kGames = 3;

CatchAgentConfig small_config(const std::string& core, bool location_trains_core = false) {
  CatchAgentConfig c;
  c.location_trains_core = location_trains_core;
  c.glimpse_hidden = 5;
  c.location_hidden = 4;
  c.glimpse_features = 6;
  c.core_size = 5;
  c.core = core;
  c.location_std = 0.3;
  return c;
}

// Three games with the ball in different places, so that the given actions catch some.
CatchGames start_games() {
  CatchGames games(kGames);
  games.set(0, 0, 3, 1, 11);
  games.set(1, 0, 20, -1, 11);
  games.set(2, 0, 12, 1, 11);
  return games;
}

// Raw locations uniform in [-1.3, 1.3] (some clipped) and actions; game 2's actions are all
// "stay" except towards the end so that it is caught (ball lands on column 12 + ... ), the
// others random.
std::vector<double> given_draws(std::uint64_t seed) {
  ram::Rng rng(seed, {5});
  std::vector<double> d(static_cast<std::size_t>(kGames) * CatchAgent<double>::draws_per_episode());
  for (std::size_t i = 0; i < d.size(); ++i)
    d[i] = i % 3 == 2 ? static_cast<double>(rng.below(3)) : rng.uniform(-1.3, 1.3);
  return d;
}

// A policy that catches game 0: the tracker's choices, replayed as given actions.
void make_game_zero_caught(std::vector<double>& draws) {
  CatchGames games = start_games();
  std::vector<float> screen(CatchGames::kPixels), previous(CatchGames::kPixels);
  for (int s = 0; s < CatchGames::kFrames; ++s) {
    std::swap(screen, previous);
    games.render(0, screen.data());
    const auto a = ram::tracking_action(screen.data(), s == 0 ? nullptr : previous.data());
    draws[static_cast<std::size_t>(s) * 3 + 2] = static_cast<double>(a);
    games.step(0, a);
  }
  ASSERT_EQ(games.reward(0), 1.0f);
}

std::vector<double> random_params(const CatchAgent<double>& agent, std::uint64_t seed) {
  ram::Rng rng(seed, {1});
  std::vector<double> p(agent.parameter_count());
  for (auto& x : p) x = rng.uniform(-0.5, 0.5);
  return p;
}

struct Episode {
  CatchWorkspace<double> ws;
};

void play(const CatchAgent<double>& agent, const std::vector<double>& params,
          const std::vector<double>& draws, const CatchLossWeights& w, CatchWorkspace<double>& ws) {
  CatchGames games = start_games();
  agent.play(params.data(), games, 0, kGames, CatchPolicy::given, draws.data(), w, ws);
}

// backward(scale 1/B) against central differences of the loss it differentiates, with the
// advantages held at their unperturbed values and the baseline reading a detached state (BL is
// evaluated with only the baseline.* slots perturbed).
void expect_gradient_matches(const std::string& core, const CatchLossWeights& w, std::uint64_t seed,
                             bool location_trains_core = false) {
  const CatchAgent<double> agent(small_config(core, location_trains_core));
  const std::vector<double> ref = random_params(agent, seed);
  std::vector<double> draws = given_draws(seed);
  make_game_zero_caught(draws);
  CatchWorkspace<double> ref_ws;
  play(agent, ref, draws, w, ref_ws);
  ASSERT_EQ(ref_ws.reward(0, 0), 1.0);
  const double scale = 1.0 / kGames;
  std::vector<double> analytic(ref.size(), 0.0);
  agent.backward(ref.data(), w, scale, ref_ws, analytic.data());

  CatchWorkspace<double> ws;
  // ref with the slots whose names start with `prefix` taken from p.
  auto only = [&](const std::vector<double>& p, const std::string& prefix) {
    std::vector<double> m = ref;
    for (const ParamSlot& s : agent.layout().slots())
      if (s.name.starts_with(prefix))
        std::copy_n(p.begin() + static_cast<std::ptrdiff_t>(s.offset), s.size(),
                    m.begin() + static_cast<std::ptrdiff_t>(s.offset));
    return m;
  };
  auto sums_at = [&](const std::vector<double>& p) {
    play(agent, p, draws, w, ws);
    ws.location_advantage = ref_ws.location_advantage;
    ws.action_advantage = ref_ws.action_advantage;
    return agent.loss_sums(ws);
  };
  auto loss = [&](const std::vector<double>& p) {
    const auto full = sums_at(p);
    const double location = location_trains_core ? full.reinforce_location
                                                 : sums_at(only(p, "location.")).reinforce_location;
    const double bl = sums_at(only(p, "baseline.")).baseline;
    return (w.reinforce * (full.reinforce_action + location) + w.entropy * full.entropy +
            w.baseline * bl) *
           scale;
  };
  constexpr double h = 1e-6;
  std::vector<double> p = ref;
  for (const ParamSlot& s : agent.layout().slots()) {
    double worst = 0;
    std::size_t worst_i = 0;
    double worst_a = 0, worst_n = 0;
    double norm = 0;
    for (std::size_t i = s.offset; i < s.offset + s.size(); ++i) {
      p[i] = ref[i] + h;
      const double up = loss(p);
      p[i] = ref[i] - h;
      const double down = loss(p);
      p[i] = ref[i];
      const double numeric = (up - down) / (2 * h);
      const double err = std::abs(analytic[i] - numeric) /
                         std::max({std::abs(analytic[i]), std::abs(numeric), 1e-3});
      norm += analytic[i] * analytic[i];
      if (err > worst) {
        worst = err;
        worst_i = i - s.offset;
        worst_a = analytic[i];
        worst_n = numeric;
      }
    }
    EXPECT_LT(worst, 1e-4) << core << " " << s.name << "[" << worst_i << "]: analytic " << worst_a
                           << " numeric " << worst_n;
    EXPECT_GT(norm, 0.0) << core << " " << s.name << " gets no gradient";
  }
}

TEST(CatchAgent, LstmGradientMatchesFiniteDifferences) {
  expect_gradient_matches("lstm", {}, 11);
}

TEST(CatchAgent, GradientWithEntropyAndDiscountMatchesFiniteDifferences) {
  CatchLossWeights w;
  w.reinforce = 0.7;
  w.baseline = 1.3;
  w.entropy = 0.2;
  w.discount = 0.9;
  expect_gradient_matches("lstm", w, 12);
}

TEST(CatchAgent, GradientWithLocationTrainingTheCoreMatchesFiniteDifferences) {
  expect_gradient_matches("lstm", {}, 14, /*location_trains_core=*/true);
}

TEST(CatchAgent, ReluCoreGradientMatchesFiniteDifferences) {
  expect_gradient_matches("relu", {}, 13);
}

TEST(CatchAgent, GreedyPolicyFollowsTheMeanAndTheMostLikelyAction) {
  const CatchAgent<double> agent(small_config("lstm"));
  const std::vector<double> params = random_params(agent, 3);
  CatchGames games = start_games();
  CatchWorkspace<double> ws;
  agent.play(params.data(), games, 0, kGames, CatchPolicy::greedy, nullptr, {}, ws);
  for (int s = 0; s < CatchGames::kFrames; ++s)
    for (int i = 0; i < kGames; ++i) {
      EXPECT_EQ(ws.sample[s](i, 0), ws.mean[s](i, 0));
      Eigen::Index best;
      ws.probs[s].row(i).maxCoeff(&best);
      EXPECT_EQ(ws.action[s][static_cast<std::size_t>(i)], best);
    }
  for (int i = 0; i < kGames; ++i) EXPECT_TRUE(games.done(i));
}

// Sampled actions follow the policy's probabilities: with draws u, action k is chosen when u
// falls in [P(< k), P(<= k)).
TEST(CatchAgent, SampledActionsInvertTheCumulativeProbabilities) {
  const CatchAgent<double> agent(small_config("lstm"));
  const std::vector<double> params = random_params(agent, 4);
  ram::Rng rng(9);
  std::vector<double> draws(static_cast<std::size_t>(kGames) * agent.draws_per_episode());
  for (auto& d : draws) d = rng.uniform();
  CatchGames games = start_games();
  CatchWorkspace<double> ws;
  agent.play(params.data(), games, 0, kGames, CatchPolicy::sample, draws.data(), {}, ws);
  for (int s = 0; s < CatchGames::kFrames; ++s)
    for (int i = 0; i < kGames; ++i) {
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
  const CatchAgent<double> agent(small_config("lstm"));
  const std::vector<double> params = random_params(agent, 4);
  const std::vector<double> zeros(static_cast<std::size_t>(kGames) * agent.draws_per_episode());
  for (CatchPolicy policy : {CatchPolicy::sample, CatchPolicy::given}) {
    CatchGames with_zeros = start_games(), without = start_games();
    CatchWorkspace<double> a, b;
    agent.play(params.data(), with_zeros, 0, kGames, policy, zeros.data(), {}, a);
    agent.play(params.data(), without, 0, kGames, policy, nullptr, {}, b);
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
