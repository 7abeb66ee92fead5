// Parity of the Catch agent (LSTM core, one episode, REINFORCE on locations and actions, the
// learned baseline, the entropy bonus and discount) with an independent PyTorch implementation,
// reference/catch_reference.py (game re-implemented, torch.nn.LSTMCell as the core, autograd).
//
// The C++ side plays a batch of games in double with given locations and actions, writes the
// parameters, the games' starts, the raw locations and the actions to JSON, runs the reference
// with /usr/bin/python3 (Debian python3-torch) and compares the rewards exactly and the loss
// sums and every parameter gradient with relative error max|a - b| / max(max|b|, 1e-8) per
// tensor below 1e-6 (the C++ retina sums in float, hence not 1e-15).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ram/models/catch_agent.h"
#include "ram/util/rng.h"
#include "support/test_support.h"

namespace {

constexpr double kTolerance = 1e-6;

struct Case {
  std::string name;
  ram::CatchLossWeights weights;
  bool location_trains_core = false;
  std::uint64_t seed = 1;
};

void check(const Case& c) {
  SCOPED_TRACE(c.name);
  ram::CatchAgentConfig config;
  config.glimpse_hidden = 7;
  config.location_hidden = 5;
  config.glimpse_features = 9;
  config.core_size = 6;
  config.location_std = 0.25;
  config.location_trains_core = c.location_trains_core;
  const ram::CatchAgent<double> agent(config);
  constexpr int B = 4, T = ram::CatchGames::kFrames;
  ram::Rng rng(c.seed);
  std::vector<double> params(agent.parameter_count());
  for (auto& p : params) p = rng.uniform(-0.5, 0.5);
  ram::CatchGames games(B);
  nlohmann::json starts = nlohmann::json::array();
  for (int i = 0; i < B; ++i) {
    const int col = static_cast<int>(rng.below(24)), velocity = rng.below(2) ? 1 : -1;
    games.set(i, 0, col, velocity, ram::CatchGames::kPaddleStart);
    starts.push_back({col, velocity});
  }
  // Game 0 plays the tracker's moves, so that at least one ball is caught.
  std::vector<double> draws(static_cast<std::size_t>(B) * agent.draws_per_episode());
  {
    ram::CatchGames copy = games;
    std::vector<float> screen(ram::CatchGames::kPixels), previous(ram::CatchGames::kPixels);
    for (int s = 0; s < T; ++s) {
      std::swap(screen, previous);
      copy.render(0, screen.data());
      const auto a = ram::tracking_action(screen.data(), s ? previous.data() : nullptr);
      draws[static_cast<std::size_t>(s) * 3 + 2] = static_cast<double>(a);
      copy.step(0, a);
    }
  }
  nlohmann::json locations = nlohmann::json::array(), actions = nlohmann::json::array();
  for (int i = 0; i < B; ++i) {
    nlohmann::json li = nlohmann::json::array(), ai = nlohmann::json::array();
    for (int s = 0; s < T; ++s) {
      double* d = &draws[(static_cast<std::size_t>(i) * T + s) * 3];
      d[0] = rng.uniform(-1.3, 1.3);
      d[1] = rng.uniform(-1.3, 1.3);
      if (i > 0) d[2] = static_cast<double>(rng.below(3));
      li.push_back({d[0], d[1]});
      ai.push_back(static_cast<int>(d[2]));
    }
    locations.push_back(li);
    actions.push_back(ai);
  }
  ram::CatchWorkspace<double> ws;
  agent.play(params.data(), games, 0, B, ram::CatchPolicy::given, draws.data(), c.weights, ws);
  const ram::CatchLossSums sums = agent.loss_sums(ws);
  std::vector<double> grads(params.size(), 0.0);
  agent.backward(params.data(), c.weights, 1.0 / B, ws, grads.data());

  nlohmann::json in;
  in["config"] = ram::to_json(config);
  in["weights"] = {{"reinforce", c.weights.reinforce},
                   {"baseline", c.weights.baseline},
                   {"entropy", c.weights.entropy},
                   {"discount", c.weights.discount}};
  for (const auto& slot : agent.layout().slots())
    in["params"][slot.name] = std::vector<double>(
        params.begin() + static_cast<std::ptrdiff_t>(slot.offset),
        params.begin() + static_cast<std::ptrdiff_t>(slot.offset + slot.size()));
  in["starts"] = starts;
  in["locations"] = locations;
  in["actions"] = actions;
  ram::test::TempDir dir;
  std::ofstream(dir.sub("in.json")) << in.dump();
  const std::string script =
      (std::filesystem::path(__FILE__).parent_path() / "../../reference/catch_reference.py")
          .lexically_normal()
          .string();
  const std::string command = "/usr/bin/python3 '" + script + "' '" + dir.sub("in.json") + "' '" +
                              dir.sub("out.json") + "'";
  const int status = std::system(command.c_str());
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << command << " failed (needs /usr/bin/python3 with torch: Debian python3-torch)";
  nlohmann::json out;
  std::ifstream(dir.sub("out.json")) >> out;

  for (int i = 0; i < B; ++i) EXPECT_EQ(ws.reward(i, 0), out["reward"][i].get<double>()) << i;
  EXPECT_EQ(ws.reward(0, 0), 1.0) << "game 0 should be caught";
  auto near = [](double a, double b, const std::string& what) {
    EXPECT_LE(std::abs(a - b) / std::max(std::abs(b), 1e-8), kTolerance)
        << what << ": C++ " << a << " PyTorch " << b;
  };
  near(sums.reinforce_location, out["loss"]["reinforce_location"].get<double>(), "RF location");
  near(sums.reinforce_action, out["loss"]["reinforce_action"].get<double>(), "RF action");
  near(sums.baseline, out["loss"]["baseline"].get<double>(), "baseline");
  near(sums.entropy, out["loss"]["entropy"].get<double>(), "entropy");
  for (const auto& slot : agent.layout().slots()) {
    const auto theirs = out["grads"][slot.name].get<std::vector<double>>();
    ASSERT_EQ(theirs.size(), slot.size()) << slot.name;
    double diff = 0, scale = 0;
    for (std::size_t k = 0; k < slot.size(); ++k) {
      diff = std::max(diff, std::abs(grads[slot.offset + k] - theirs[k]));
      scale = std::max(scale, std::abs(theirs[k]));
    }
    EXPECT_LE(diff / std::max(scale, 1e-8), kTolerance) << slot.name;
    EXPECT_GT(scale, 0.0) << slot.name << " has no gradient in the reference";
  }
}

TEST(CatchParity, PapersLoss) {
  check({"paper", {}, false, 1});
}

TEST(CatchParity, EntropyDiscountWeightsAndLocationTrainingTheCore) {
  ram::CatchLossWeights w;
  w.reinforce = 0.8;
  w.baseline = 0.6;
  w.entropy = 0.05;
  w.discount = 0.95;
  check({"options", w, true, 2});
}

}  // namespace
