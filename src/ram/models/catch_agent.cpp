#include "ram/models/catch_agent.h"

#include <algorithm>
#include <cmath>

#include "ram/models/attention_json.h"
#include "ram/nn/cores.h"
#include "ram/nn/layers.h"
#include "ram/util/error.h"
#include "ram/util/json_fields.h"
#include "ram/util/rng.h"

namespace ram {

namespace {

constexpr ConfigCheck require{"catch agent configuration"};

constexpr int kFrames = CatchGames::kFrames;

}  // namespace

void validate(const CatchAgentConfig& c) {
  validate(c, require);  // the body's fields
}

nlohmann::json to_json(const CatchAgentConfig& c) {
  nlohmann::json j = {{"location_trains_core", c.location_trains_core}};
  write_attention_fields(c, j);
  return j;
}

CatchAgentConfig catch_agent_config_from_json(const nlohmann::json& j) {
  CatchAgentConfig c;
  read_json("catch agent configuration: ", [&] {
    read_attention_fields(j, c);
    c.location_trains_core = json_field<bool>(j, "location_trains_core");
  });
  validate(c);
  return c;
}

template <typename T>
CatchAgent<T>::CatchAgent(const CatchAgentConfig& config)
    : AttentionAgent<T, CatchAgentConfig>((validate(config), config), CatchGames::kActions,
                                          0xca7c) {}

template <typename T>
void CatchAgent<T>::play(const T* params, CatchGames& games, int first, int count,
                         CatchPolicy policy, const T* draws, const CatchLossWeights& weights,
                         CatchWorkspace<T>& ws) const {
  const int B = count, A = CatchGames::kActions;
  constexpr int n = CatchGames::kSize;
  const T std_dev = location_std(ws);
  body_.start(ws, kFrames, B);
  ws.policy = policy;
  ws.probs.resize(kFrames);
  for (auto& p : ws.probs) p.resize(B, A);
  ws.screen.resize(kFrames);
  ws.action.resize(kFrames);
  ws.baseline.resize(B, kFrames + 1);
  ws.dlogits.resize(B, A);  // logits scratch in forward

  for (int s = 0; s < kFrames; ++s) {
    body_.location_mean(params, ws, s);
    body_.baseline(params, ws, s, ws.baseline.col(s));
    ws.screen[s].resize(static_cast<std::size_t>(B) * CatchGames::kPixels);
    for (int i = 0; i < B; ++i) {
      const T* d = draws ? draws + (static_cast<std::size_t>(i) * kFrames + s) * kCatchDrawsPerFrame
                         : nullptr;
      for (int k = 0; k < 2; ++k) {
        const T draw = d ? d[k] : T(0);  // no draws: zeros, as for RamModel::forward
        T raw = ws.mean[s](i, k);
        if (policy == CatchPolicy::sample) raw += std_dev * draw;
        if (policy == CatchPolicy::given) raw = draw;
        RecurrentAttention<T>::place(ws, s, i, k, raw);
      }
      float* screen = ws.screen[s].data() + static_cast<std::size_t>(i) * CatchGames::kPixels;
      games.render(first + i, screen);
      retina_extract(config_.retina, screen, n, n, static_cast<double>(ws.location[s](i, 0)),
                     static_cast<double>(ws.location[s](i, 1)), &ws.glimpse[s](i, 0),
                     ws.retina_scratch);
    }
    body_.step(params, ws, s);
    body_.action_logits(params, ws, s + 1, ws.dlogits);
    softmax_forward(ws.dlogits, ws.probs[s]);
    ws.action[s].resize(static_cast<std::size_t>(B));
    for (int i = 0; i < B; ++i) {
      int a = 0;
      if (policy == CatchPolicy::greedy) {
        Eigen::Index best;
        ws.probs[s].row(i).maxCoeff(&best);
        a = static_cast<int>(best);
      } else {
        const T d =
            draws ? draws[(static_cast<std::size_t>(i) * kFrames + s) * kCatchDrawsPerFrame + 2]
                  : T(0);
        if (policy == CatchPolicy::given) {
          a = std::clamp(static_cast<int>(d), 0, A - 1);
        } else {
          T cumulative = 0;
          a = A - 1;
          for (int k = 0; k < A - 1; ++k) {
            cumulative += ws.probs[s](i, k);
            if (d < cumulative) {
              a = k;
              break;
            }
          }
        }
      }
      ws.action[s][static_cast<std::size_t>(i)] = a;
      games.step(first + i, static_cast<CatchAction>(a));
    }
  }
  body_.baseline(params, ws, kFrames, ws.baseline.col(kFrames));

  ws.final_screen.resize(static_cast<std::size_t>(B) * CatchGames::kPixels);
  for (int i = 0; i < B; ++i)
    games.render(first + i,
                 ws.final_screen.data() + static_cast<std::size_t>(i) * CatchGames::kPixels);
  ws.reward.resize(B, 1);
  ws.target.resize(B, kFrames + 1);
  for (int i = 0; i < B; ++i) {
    const T r = T(games.reward(first + i));
    ws.reward(i, 0) = r;
    for (int s = 0; s <= kFrames; ++s)
      ws.target(i, s) = r * T(std::pow(weights.discount, kFrames - 1 - std::min(s, kFrames - 1)));
  }
  ws.location_advantage = ws.target.leftCols(kFrames) - ws.baseline.leftCols(kFrames);
  ws.action_advantage = ws.target.leftCols(kFrames) - ws.baseline.rightCols(kFrames);
}

template <typename T>
CatchLossSums CatchAgent<T>::loss_sums(const CatchWorkspace<T>& ws) const {
  CatchLossSums sums;
  const T std_dev = location_std(ws);
  const bool stochastic = ws.policy != CatchPolicy::greedy;
  for (int i = 0; i < ws.rows; ++i) {
    sums.caught += static_cast<double>(ws.reward(i, 0));
    for (int s = 0; s <= kFrames; ++s) {
      const T diff = ws.baseline(i, s) - ws.target(i, s);
      sums.baseline += static_cast<double>(diff * diff);
    }
    for (int s = 0; s < kFrames; ++s) {
      T entropy = 0;
      for (int k = 0; k < CatchGames::kActions; ++k) {
        const T p = ws.probs[s](i, k);
        if (p > T(0)) entropy -= p * std::log(p);
      }
      sums.entropy -= static_cast<double>(entropy);
      if (!stochastic) continue;
      const T log_location =
          gaussian_log_density(ws.sample[s].row(i).data(), ws.mean[s].row(i).data(), 2, std_dev);
      const T log_action =
          -cross_entropy(ws.probs[s](i, ws.action[s][static_cast<std::size_t>(i)]));
      sums.reinforce_location -= static_cast<double>(log_location * ws.location_advantage(i, s));
      sums.reinforce_action -= static_cast<double>(log_action * ws.action_advantage(i, s));
    }
  }
  sums.reinforce = sums.reinforce_location + sums.reinforce_action;
  sums.episodes = ws.rows;
  return sums;
}

template <typename T>
void CatchAgent<T>::backward(const T* params, const CatchLossWeights& w, T scale,
                             CatchWorkspace<T>& ws, T* grads) const {
  const int B = ws.rows, A = CatchGames::kActions;
  const T inv_var = T(1) / (location_std(ws) * location_std(ws));
  const T rf_scale = scale * T(w.reinforce), en_scale = scale * T(w.entropy);

  // Baseline: d(scale * w_bl * sum_s (b_s - target_s)^2)/db_s into its own weights only.
  const T baseline_scale = scale * T(w.baseline) * T(2);
  for (int s = 0; s <= kFrames; ++s) {
    const Mat<T> dbase = baseline_scale * (ws.baseline.col(s) - ws.target.col(s));  // [B x 1]
    body_.baseline_backward(ws, s, dbase, grads);
  }

  body_.start_backward(ws, B);
  ws.dlogits.resize(B, A);
  for (int s = kFrames - 1; s >= 0; --s) {
    // Action of frame s, read from h_{s+1}: d(-log p[a] adv)/dz = (p - onehot(a)) adv, and the
    // entropy bonus d(-H)/dz_j = p_j (log p_j + H).
    const auto& p = ws.probs[s];
    for (int i = 0; i < B; ++i) {
      const T adv = rf_scale * ws.action_advantage(i, s);
      T entropy = 0;
      for (int k = 0; k < A; ++k)
        if (p(i, k) > T(0)) entropy -= p(i, k) * std::log(p(i, k));
      for (int k = 0; k < A; ++k) {
        const T log_p = p(i, k) > T(0) ? std::log(p(i, k)) : T(0);
        ws.dlogits(i, k) = p(i, k) * adv + en_scale * p(i, k) * (log_p + entropy);
      }
      ws.dlogits(i, ws.action[s][static_cast<std::size_t>(i)]) -= adv;
    }
    body_.action_backward(params, ws, s + 1, ws.dlogits, grads, /*accumulate=*/true);
    body_.backward_step(params, s, ws);

    // Location of frame s, read from h_s.
    const Mat<T> dmean =
        body_.location_backward(ws, s, ws.location_advantage.col(s) * rf_scale, inv_var, grads);
    if (s > 0 && config_.location_trains_core) body_.location_into_state(params, dmean, ws);
  }
  body_.backward_params(params, ws, grads);
}

template <typename T>
double CatchAgent<T>::forward_flops() const {
  return body_.step_flops() + 2.0 * config_.core_size * CatchGames::kActions;
}

template class CatchAgent<float>;
template class CatchAgent<double>;

}  // namespace ram
