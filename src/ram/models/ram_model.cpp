#include "ram/models/ram_model.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "ram/models/attention_json.h"
#include "ram/nn/cores.h"
#include "ram/nn/layers.h"
#include "ram/util/error.h"
#include "ram/util/json_fields.h"
#include "ram/util/rng.h"

namespace ram {

namespace {

constexpr ConfigCheck require{"model configuration"};

}  // namespace

void validate(const ModelConfig& c) {
  validate(c, require);  // the body's fields
  require(c.image_height >= 1 && c.image_height <= 1 << 16 && c.image_width >= 1 &&
              c.image_width <= 1 << 16,
          "image size must be in 1..65536");
  require(c.glimpses >= 1 && c.glimpses <= 1000, "glimpses must be in 1..1000");
  require(c.classes >= 2 && c.classes <= 256, "classes must be in 2..256");
  require(c.reward_baseline == "linear" || c.reward_baseline == "sigmoid",
          "unknown reward baseline '" + c.reward_baseline + "' (known: linear, sigmoid)");
  require(std::isfinite(c.glimpse_cost) && c.glimpse_cost >= 0 && c.glimpse_cost <= 1,
          "glimpse cost must be in [0, 1]");
  require(c.adaptive_stopping || c.glimpse_cost == 0, "a glimpse cost needs adaptive stopping");
}

nlohmann::json to_json(const ModelConfig& c) {
  nlohmann::json j = {{"image_height", c.image_height},
                      {"image_width", c.image_width},
                      {"glimpses", c.glimpses},
                      {"classes", c.classes},
                      {"reinforce_trains_core", c.reinforce_trains_core}};
  write_attention_fields(c, j);
  // Only when not the default, so that such configurations read exactly as before (and by
  // readers that know nothing of them, such as the PyTorch reference).
  if (c.reward_baseline != "linear") j["reward_baseline"] = c.reward_baseline;
  if (c.adaptive_stopping || c.classifier_at_every_step) {
    j["adaptive_stopping"] = c.adaptive_stopping;
    j["glimpse_cost"] = c.glimpse_cost;
    j["classifier_at_every_step"] = c.classifier_at_every_step;
  }
  if (c.random_first_glimpse) j["random_first_glimpse"] = true;
  return j;
}

ModelConfig model_config_from_json(const nlohmann::json& j) {
  ModelConfig c;
  read_json("model configuration: ", [&] {
    c.image_height = json_field<int>(j, "image_height");
    c.image_width = json_field<int>(j, "image_width");
    read_attention_fields(j, c);
    c.glimpses = json_field<int>(j, "glimpses");
    c.classes = json_field<int>(j, "classes");
    c.reinforce_trains_core = json_field<bool>(j, "reinforce_trains_core");
    c.reward_baseline = json_field_or<std::string>(j, "reward_baseline", "linear");
    // Absent from configurations written before adaptive stopping existed.
    if (j.contains("adaptive_stopping") || j.contains("glimpse_cost") ||
        j.contains("classifier_at_every_step")) {
      c.adaptive_stopping = json_field<bool>(j, "adaptive_stopping");
      c.glimpse_cost = json_field<double>(j, "glimpse_cost");
      c.classifier_at_every_step = json_field<bool>(j, "classifier_at_every_step");
    }
    c.random_first_glimpse = json_field_or<bool>(j, "random_first_glimpse", false);
  });
  validate(c);
  return c;
}

template <typename T>
RamModel<T>::RamModel(const ModelConfig& config)
    : AttentionAgent<T, ModelConfig>((validate(config), config), config.classes, 0x1417) {
  if (config_.adaptive_stopping) {  // last, so that every other slot keeps its initial values
    const int H = body_.output_size();
    stop_w_ = layout_.weight("stop.weight", H, 1);  // [h x 1]
    stop_b_ = layout_.bias("stop.bias", 1);
  }
}

template <typename T>
void RamModel<T>::forward(const T* params, const float* images, int count, LocationMode mode,
                          const T* draws, Workspace<T>& ws, StopMode stop_mode) const {
  const int B = count, Tn = config_.glimpses;
  const std::size_t image_size = static_cast<std::size_t>(config_.image_height) *
                                 static_cast<std::size_t>(config_.image_width);
  const T std_dev = location_std(ws);
  const std::size_t draws_per_image = static_cast<std::size_t>(this->draws_per_image());
  body_.start(ws, Tn, B);
  ws.mode = mode;
  ws.stop_mode = stop_mode;
  ws.baseline.resize(B, Tn);

  for (int t = 0; t < Tn; ++t) {
    // Location policy and baseline read h_t.
    if (mode == LocationMode::uniform)
      ws.mean[t].setZero();
    else
      body_.location_mean(params, ws, t);
    body_.baseline(params, ws, t, ws.baseline.col(t));
    if (config_.reward_baseline == "sigmoid")
      bounded_sigmoid_forward(ws.baseline.col(t), reward_floor());
    for (int i = 0; i < B; ++i) {
      for (int k = 0; k < 2; ++k) {
        const T draw =
            draws ? draws[static_cast<std::size_t>(i) * draws_per_image + 2 * t + k] : T(0);
        T raw = ws.mean[t](i, k);
        if (mode == LocationMode::uniform || mode == LocationMode::given)
          raw = draw;
        else if (t == 0 && config_.random_first_glimpse)
          raw = std::erf(draw / std::numbers::sqrt2_v<T>);  // 2 Phi(draw) - 1: uniform
        else if (mode == LocationMode::sample)
          raw += std_dev * draw;
        RecurrentAttention<T>::place(ws, t, i, k, raw);
      }
      retina_extract(
          config_.retina, images + static_cast<std::size_t>(i) * image_size, config_.image_height,
          config_.image_width, static_cast<double>(ws.location[t](i, 0)),
          static_cast<double>(ws.location[t](i, 1)), &ws.glimpse[t](i, 0), ws.retina_scratch);
    }
    body_.step(params, ws, t);
  }
  ws.logits.resize(B, config_.classes);
  ws.probs.resize(B, config_.classes);
  if (config_.adaptive_stopping) {
    forward_stopping(params, draws, ws);
    return;
  }
  ws.glimpses_taken.assign(static_cast<std::size_t>(B), Tn);
  if (config_.classifier_at_every_step) {
    forward_step_classifiers(params, ws);
    ws.logits = ws.step_logits[static_cast<std::size_t>(Tn - 1)];
    ws.probs = ws.step_probs[static_cast<std::size_t>(Tn - 1)];
    return;
  }
  body_.action_logits(params, ws, Tn, ws.logits);
  softmax_forward(ws.logits, ws.probs);
}

template <typename T>
void RamModel<T>::forward_step_classifiers(const T* params, Workspace<T>& ws) const {
  const int B = ws.rows, Tn = config_.glimpses;
  ws.step_logits.resize(static_cast<std::size_t>(Tn));
  ws.step_probs.resize(static_cast<std::size_t>(Tn));
  for (int t = 0; t < Tn; ++t) {
    ws.step_logits[t].resize(B, config_.classes);
    ws.step_probs[t].resize(B, config_.classes);
    body_.action_logits(params, ws, t + 1, ws.step_logits[t]);
    softmax_forward(ws.step_logits[t], ws.step_probs[t]);
  }
}

template <typename T>
void RamModel<T>::step_probabilities(const T* params, const Workspace<T>& ws, int n,
                                     Mat<T>& probs) const {
  if (n < 1 || n > config_.glimpses || static_cast<int>(ws.state.size()) <= n)
    throw Error("step probabilities: glimpse " + std::to_string(n) + " of an episode of " +
                std::to_string(config_.glimpses));
  Mat<T> logits(ws.rows, config_.classes);
  body_.action_logits(params, ws, n, logits);
  probs.resize(ws.rows, config_.classes);
  softmax_forward(logits, probs);
}

template <typename T>
void RamModel<T>::forward_stopping(const T* params, const T* draws, Workspace<T>& ws) const {
  const int B = ws.rows, Tn = config_.glimpses, H = body_.output_size();
  const std::size_t draws_per_image = static_cast<std::size_t>(this->draws_per_image());
  forward_step_classifiers(params, ws);
  ws.stop_logit.resize(B, Tn - 1);
  ws.stop_prob.resize(B, Tn - 1);
  ws.stop.setZero(B, Tn - 1);
  for (int n = 1; n < Tn; ++n) {
    linear_forward<T>(ws.state[n].leftCols(H), view(params, stop_w_), row(params, stop_b_),
                      ws.stop_logit.col(n - 1));
  }
  ws.stop_prob = (T(1) / (T(1) + (-ws.stop_logit.array()).exp())).matrix();
  ws.glimpses_taken.assign(static_cast<std::size_t>(B), Tn);
  for (int i = 0; i < B; ++i) {
    const T* d = draws ? draws + static_cast<std::size_t>(i) * draws_per_image + 2 * Tn : nullptr;
    for (int n = 1; n < Tn; ++n) {
      const T q = ws.stop_prob(i, n - 1);
      const T draw = d ? d[n - 1] : T(0);
      bool stop = false;
      switch (ws.stop_mode) {
        case StopMode::sample: {
          const T u = ws.mode == LocationMode::uniform
                          ? (draw + T(1)) / T(2)
                          : T(0.5) * std::erfc(-draw / std::numbers::sqrt2_v<T>);
          stop = u < q;
          break;
        }
        case StopMode::threshold:
          stop = q > T(0.5);
          break;
        case StopMode::given:
          stop = draw > T(0.5);
          break;
      }
      if (stop) {
        ws.stop(i, n - 1) = T(1);
        ws.glimpses_taken[static_cast<std::size_t>(i)] = n;
        break;
      }
    }
    ws.logits.row(i) = ws.step_logits[ws.glimpses_taken[static_cast<std::size_t>(i)] - 1].row(i);
    ws.probs.row(i) = ws.step_probs[ws.glimpses_taken[static_cast<std::size_t>(i)] - 1].row(i);
  }
}

template <typename T>
T RamModel<T>::reward_floor() const {
  return config_.adaptive_stopping ? -T(config_.glimpse_cost) * T(config_.glimpses) : T(0);
}

template <typename T>
void RamModel<T>::backward_baseline(int t, Mat<T> dbase, const Workspace<T>& ws, T* grads) const {
  if (config_.reward_baseline == "sigmoid")
    bounded_sigmoid_backward(ws.baseline.col(t), dbase, reward_floor());
  body_.baseline_backward(ws, t, dbase, grads);
}

template <typename T>
void RamModel<T>::assign_rewards(const std::uint8_t* labels, Workspace<T>& ws) const {
  ws.reward.resize(ws.rows, 1);
  for (int i = 0; i < ws.rows; ++i) {
    Eigen::Index predicted;
    ws.probs.row(i).maxCoeff(&predicted);
    ws.reward(i, 0) = predicted == labels[i] ? T(1) : T(0);
  }
  if (config_.adaptive_stopping)
    for (int i = 0; i < ws.rows; ++i)
      ws.reward(i, 0) -=
          T(config_.glimpse_cost) * T(ws.glimpses_taken[static_cast<std::size_t>(i)]);
  ws.advantage = (-ws.baseline).colwise() + ws.reward.col(0);
}

template <typename T>
LossSums RamModel<T>::loss_sums(const std::uint8_t* labels, const Workspace<T>& ws) const {
  LossSums sums;
  const T std_dev = location_std(ws);
  const bool policy = ws.mode == LocationMode::sample || ws.mode == LocationMode::given;
  const bool stop_policy = ws.stop_mode != StopMode::threshold;
  const int Tn = config_.glimpses, H = body_.output_size();
  for (int i = 0; i < ws.rows; ++i) {
    const int N = ws.glimpses_taken[static_cast<std::size_t>(i)];
    if (config_.classifier_at_every_step) {
      double ce = 0;
      for (int t = 0; t < Tn; ++t)
        ce += static_cast<double>(cross_entropy(ws.step_probs[t](i, labels[i])));
      sums.cross_entropy += ce / Tn;
    } else {
      sums.cross_entropy += static_cast<double>(cross_entropy(ws.probs(i, labels[i])));
    }
    Eigen::Index predicted;
    ws.probs.row(i).maxCoeff(&predicted);
    sums.correct += predicted == labels[i] ? 1.0 : 0.0;
    sums.glimpses += N;
    for (int t = 1; t <= N; ++t) {
      double l1 = 0;  // a plain loop: Eigen's sum would order by the row's address
      for (int c = 0; c < H; ++c) l1 += std::abs(static_cast<double>(ws.state[t](i, c)));
      sums.state_l1 += l1;
      sums.state_l1_max = std::max(sums.state_l1_max, l1);
    }
    for (int t = 0; t <= std::min(N, Tn - 1); ++t) {
      const T diff = ws.baseline(i, t) - ws.reward(i, 0);
      sums.baseline += static_cast<double>(diff * diff);
      sums.advantage_max = std::max(sums.advantage_max, static_cast<double>(std::abs(diff)));
      if (policy && t < N && t >= first_policy_step()) {
        const T log_pi =
            gaussian_log_density(ws.sample[t].row(i).data(), ws.mean[t].row(i).data(), 2, std_dev);
        sums.reinforce -= static_cast<double>(log_pi * ws.advantage(i, t));
        for (int d = 0; d < 2; ++d)
          sums.saturated_means += std::abs(ws.mean[t](i, d)) > T(0.9) ? 1.0 : 0.0;
        sums.policy_means += 2;
      }
      if (config_.adaptive_stopping && stop_policy && t >= 1) {
        const T log_pi =
            bernoulli_logit_log_prob(ws.stop_logit(i, t - 1), ws.stop(i, t - 1) > T(0.5));
        sums.reinforce -= static_cast<double>(log_pi * ws.advantage(i, t));
      }
    }
  }
  sums.images = ws.rows;
  return sums;
}

template <typename T>
void RamModel<T>::backward(const T* params, const std::uint8_t* labels, const LossWeights& weights,
                           T scale, Workspace<T>& ws, T* grads) const {
  if (config_.adaptive_stopping) {
    backward_stopping(params, labels, weights, scale, ws, grads);
    return;
  }
  const int B = ws.rows, Tn = config_.glimpses;
  // A term whose weight is 0 is not computed at all, so that it provably adds nothing.
  const bool policy =
      (ws.mode == LocationMode::sample || ws.mode == LocationMode::given) && weights.reinforce != 0;
  const T inv_var = T(1) / (location_std(ws) * location_std(ws));

  // Action net: dlogits [B x C] = scale * (p - onehot(y)), divided by T when the classifier is
  // trained at every step (CE is then the mean over the T steps).
  const bool every_step = config_.classifier_at_every_step;
  const T ce_scale = every_step ? scale / T(Tn) : scale;
  ws.dlogits.resize(B, config_.classes);
  softmax_cross_entropy_backward(ws.probs, labels, ce_scale, ws.dlogits);
  body_.start_backward(ws, B);
  body_.action_backward(params, ws, Tn, ws.dlogits, grads, /*accumulate=*/false);

  // Baseline: d(scale * w * sum_t (b_t - R)^2)/db_t, into its own weights only.
  const T baseline_scale = scale * T(weights.baseline) * T(2);
  for (int t = 0; t < Tn && weights.baseline != 0; ++t) {
    backward_baseline(t, baseline_scale * (ws.baseline.col(t) - ws.reward.col(0)), ws, grads);
  }

  // Location policy, REINFORCE: d(-log pi)/dmu = -(l - mu) / std^2, times the advantage, then
  // through tanh. dpolicy [B x 2] per step; parameters get it for every sampled location.
  std::vector<Mat<T>> dpolicy(policy ? Tn : 0);
  if (policy) {
    const T rf_scale = scale * T(weights.reinforce);
    for (int t = first_policy_step(); t < Tn; ++t)
      dpolicy[t] = body_.location_backward(ws, t, ws.advantage.col(t) * rf_scale, inv_var, grads);
  }

  for (int t = Tn - 1; t >= 0; --t) {
    if (every_step && t + 1 < Tn) {  // the classifier at state t + 1 (step T's is done above)
      softmax_cross_entropy_backward(ws.step_probs[t], labels, ce_scale, ws.dlogits);
      body_.action_backward(params, ws, t + 1, ws.dlogits, grads, /*accumulate=*/true);
    }
    if (policy && config_.reinforce_trains_core && t + 1 < Tn)
      body_.location_into_state(params, dpolicy[t + 1], ws);
    body_.backward_step(params, t, ws);
  }
  body_.backward_params(params, ws, grads);
}

// The terms of the header comment with N_i glimpses taken by image i: the masks below select,
// per step, the images whose episode used that step's classifier, location, decision or baseline.
template <typename T>
void RamModel<T>::backward_stopping(const T* params, const std::uint8_t* labels,
                                    const LossWeights& weights, T scale, Workspace<T>& ws,
                                    T* grads) const {
  const int B = ws.rows, Tn = config_.glimpses, H = body_.output_size();
  // A term whose weight is 0 is not computed at all, so that it provably adds nothing.
  const bool policy =
      (ws.mode == LocationMode::sample || ws.mode == LocationMode::given) && weights.reinforce != 0;
  const bool stop_policy = ws.stop_mode != StopMode::threshold && weights.reinforce != 0;
  const T inv_var = T(1) / (location_std(ws) * location_std(ws));
  const T rf_scale = scale * T(weights.reinforce);
  auto taken = [&](int i) { return ws.glimpses_taken[static_cast<std::size_t>(i)]; };
  // mask(t, test) [B x 1]: 1 for the images i with test(N_i), else 0.
  auto mask = [&](auto&& test) {
    Mat<T> m(B, 1);
    for (int i = 0; i < B; ++i) m(i, 0) = test(taken(i)) ? T(1) : T(0);
    return m;
  };

  // Baseline: its squared error at t = 0 .. min(N, T-1).
  const T baseline_scale = scale * T(weights.baseline) * T(2);
  for (int t = 0; t < Tn && weights.baseline != 0; ++t) {
    backward_baseline(
        t, baseline_scale * (ws.baseline.col(t) - ws.reward.col(0)).cwiseProduct(mask([t](int N) {
          return t <= N;
        })),
        ws, grads);
  }

  // Location policy at t = 0 .. N-1 (the locations actually used), as in backward().
  std::vector<Mat<T>> dpolicy(policy ? Tn : 0);
  if (policy) {
    for (int t = first_policy_step(); t < Tn; ++t) {
      const Mat<T> adv =
          (ws.advantage.col(t) * rf_scale).cwiseProduct(mask([t](int N) { return t < N; }));
      dpolicy[t] = body_.location_backward(ws, t, adv, inv_var, grads);
    }
  }

  // Stop policy after glimpse n = 1 .. min(N, T-1): d(-log Bern(s; q))/dz = q - s.
  std::vector<Mat<T>> dstop(stop_policy ? Tn : 0);  // index n; [0] unused
  if (stop_policy) {
    for (int n = 1; n < Tn; ++n) {
      const Mat<T> adv =
          (ws.advantage.col(n) * rf_scale).cwiseProduct(mask([n](int N) { return n <= N; }));
      dstop[n] = (ws.stop_prob.col(n - 1) - ws.stop.col(n - 1)).cwiseProduct(adv);
      linear_backward_params<T>(ws.state[n].leftCols(H), dstop[n], view(grads, stop_w_),
                                row(grads, stop_b_));
    }
  }

  // Back through time; at state n = t + 1: the classifier at step n, then (with
  // reinforce_trains_core) the stop decision and the location read from h_n.
  const T every_step = T(1) / T(Tn);
  body_.start_backward(ws, B);
  ws.dlogits.resize(B, config_.classes);
  for (int t = Tn - 1; t >= 0; --t) {
    const int n = t + 1;
    softmax_cross_entropy_backward(ws.step_probs[t], labels, scale, ws.dlogits);
    if (config_.classifier_at_every_step)
      ws.dlogits *= every_step;
    else
      ws.dlogits.array().colwise() *= mask([n](int N) { return N == n; }).col(0).array();
    body_.action_backward(params, ws, n, ws.dlogits, grads, /*accumulate=*/true);
    if (config_.reinforce_trains_core && n < Tn) {
      if (stop_policy)
        linear_backward_input<T>(dstop[n], view(params, stop_w_), ws.dstate.leftCols(H), true);
      if (policy) body_.location_into_state(params, dpolicy[n], ws);
    }
    body_.backward_step(params, t, ws);
  }
  body_.backward_params(params, ws, grads);
}

template <typename T>
double RamModel<T>::forward_flops() const {
  const double H = config_.core_size, C = config_.classes;
  const double per_glimpse = body_.step_flops();  // glimpse net, core, location and baseline
  const double stopping = config_.adaptive_stopping ? config_.glimpses * 2.0 * (H * C + H) : 0;
  return config_.glimpses * per_glimpse + 2.0 * H * C + stopping;
}

template class RamModel<float>;
template class RamModel<double>;

}  // namespace ram
