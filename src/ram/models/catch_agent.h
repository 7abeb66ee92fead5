#pragma once
// The Catch agent (Mnih et al. 2014, section 4.2): RAM with an LSTM core that, on every frame,
// takes one glimpse of the screen where its location policy says and then chooses a game
// action. It learns from the final reward only.
//
// One episode over a batch of B games, T = CatchGames::kFrames frames, s = 0 .. T-1:
//   mu_s  = tanh(h_s W_loc + b_loc); l_s = mu_s + std * eps_s (log pi at the raw sample)  [B x 2]
//   g_s   = glimpse_net(retina(screen_s, clip(l_s)), clip(l_s))                          [B x 256]
//   state_{s+1} = lstm(state_s, g_s); h_{s+1} = its leading H columns; state_0 = 0     [B x 2H]
//   p_s   = softmax(h_{s+1} W_act + b_act); a_s ~ p_s (left, stay, right)               [B x 3]
//   b_s   = h_s W_base + b_base, s = 0 .. T (h_s detached: the baseline trains itself only)
// The location of frame s is chosen before the frame is seen (from h_s), the action after.
//
// Loss per episode, with R the final reward and G_s = discount^(T-1-s) R:
//   RF = -sum_s [log N(l_s; mu_s, std^2) (G_s - b_s) + log p_s[a_s] (G_s - b_{s+1})]
//   BL = sum_{s=0..T} (b_s - G_min(s,T-1))^2
//   EN = -sum_s H(p_s)        (entropy bonus, weight 0 by default)
//   loss = w_rf RF + w_bl BL + w_en EN, the advantages held constant.
// The action term of RF reaches every network but the baseline (REINFORCE is the only learning
// signal of the core and the glimpse net here); the location term trains the location net and,
// with location_trains_core, the core and glimpse net too. Both baselines of a frame are functions
// of the state before the decision they serve, so the estimate stays unbiased.
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "ram/env/catch_game.h"
#include "ram/models/attention_agent.h"
#include "ram/nn/parameters.h"
#include "ram/nn/recurrent_attention.h"
#include "ram/nn/retina.h"
#include "ram/nn/tensor.h"

namespace ram {

// The body's settings come from AttentionConfig; the paper's Catch agent has a 6x6 retina at 3
// scales and an LSTM core, and its policy std is 0.1 (the screen spans [-1, 1]).
struct CatchAgentConfig : AttentionConfig {
  CatchAgentConfig() {
    retina = {6, 3};
    core = "lstm";
    location_std = 0.1;
  }
  // Whether the location term of REINFORCE reaches the core and the glimpse net (as it does
  // in plain REINFORCE) or trains the location net only (as in classification). Its gradient,
  // (l - mu)/std^2, is ~1/std times larger and noisier than the action term's.
  bool location_trains_core = false;
};

void validate(const CatchAgentConfig& config);
nlohmann::json to_json(const CatchAgentConfig& config);
CatchAgentConfig catch_agent_config_from_json(const nlohmann::json& j);  // throws ram::Error

struct CatchLossWeights {
  double reinforce = 1.0;
  double baseline = 1.0;
  double entropy = 0.0;   // weight of the entropy bonus of the action policy; 0 = the paper's
  double discount = 1.0;  // G_s = discount^(T-1-s) R; 1 = the paper's
};

// How locations and actions are chosen. Draws hold 3 values per game and frame.
enum class CatchPolicy {
  sample,  // l = mu + std * draw[0..1] (standard normal); a = inverse CDF of p at draw[2] (U[0,1))
  greedy,  // l = mu, a = argmax p (draws unused)
  given,   // l = draw[0..1] raw, a = draw[2] (0, 1, 2): tests
};
inline constexpr int kCatchDrawsPerFrame = 3;

struct CatchLossSums {
  double reinforce = 0;  // = reinforce_location + reinforce_action
  double reinforce_location = 0, reinforce_action = 0;
  double baseline = 0, entropy = 0, caught = 0, episodes = 0;
  CatchLossSums& operator+=(const CatchLossSums& o) {
    reinforce += o.reinforce;
    reinforce_location += o.reinforce_location;
    reinforce_action += o.reinforce_action;
    baseline += o.baseline;
    entropy += o.entropy;
    caught += o.caught;
    episodes += o.episodes;
    return *this;
  }
  // The episodes' loss under `weights`: what training minimises, and what must stay finite.
  double total(const CatchLossWeights& weights) const {
    return weights.reinforce * reinforce + weights.baseline * baseline + weights.entropy * entropy;
  }
};

// Everything one batch of episodes keeps for the backward pass (one per thread).
// The per-frame tape of recurrent_attention.h, with T the frames of a game.
template <typename T>
struct CatchWorkspace : EpisodeTape<T> {
  CatchPolicy policy = CatchPolicy::sample;
  std::vector<std::vector<float>> screen;  // T x (B x 24*24), what each frame showed
  std::vector<float> final_screen;         // B x 24*24, the ball on the bottom row
  std::vector<Mat<T>> probs;               // T x [B x 3]
  std::vector<std::vector<int>> action;    // T x B
  Mat<T> baseline;                         // [B x T+1]
  Mat<T> reward;                           // [B x 1]
  Mat<T> target;                           // [B x T+1], what b_s is trained towards
  // Held constant in backward: G_s - b_s for the location of frame s, G_s - b_{s+1} for its
  // action.
  Mat<T> location_advantage, action_advantage;  // [B x T] each
  Mat<T> dlogits;  // scratch: logits in forward, their gradient in backward
};

template <typename T>
class CatchAgent : public AttentionAgent<T, CatchAgentConfig> {
 public:
  explicit CatchAgent(const CatchAgentConfig& config);
  static constexpr int draws_per_episode() { return CatchGames::kFrames * kCatchDrawsPerFrame; }

  // Plays games [first, first + count) of `games` to the end. draws: count x T x 3 values
  // (see CatchPolicy), or null for all zeros. Fills ws, including rewards and advantages.
  void play(const T* params, CatchGames& games, int first, int count, CatchPolicy policy,
            const T* draws, const CatchLossWeights& weights, CatchWorkspace<T>& ws) const;

  CatchLossSums loss_sums(const CatchWorkspace<T>& ws) const;

  // Accumulates scale * d(loss)/dparams, summed over the episodes of ws, into grads.
  void backward(const T* params, const CatchLossWeights& weights, T scale, CatchWorkspace<T>& ws,
                T* grads) const;

  // Multiply-adds x2 of one frame's forward pass.
  double forward_flops() const;

 private:
  using AttentionAgent<T, CatchAgentConfig>::location_std;
  using AttentionAgent<T, CatchAgentConfig>::config_;
  using AttentionAgent<T, CatchAgentConfig>::body_;
  using AttentionAgent<T, CatchAgentConfig>::layout_;
};

extern template class CatchAgent<float>;
extern template class CatchAgent<double>;

}  // namespace ram
