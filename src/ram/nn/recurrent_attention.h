#pragma once
// The recurrent attention body every agent is built on (the classifier of ram_model.h and the
// Catch agent): the glimpse network, the core, and the three heads that read the core's output
// h_t [B x H]:
//   location  mu_t = tanh(h_t W_l + b_l)  [B x 2], the mean of the Gaussian policy
//             l_t ~ N(mu_t, std^2 I); log pi is taken at the raw sample, the retina and the
//             glimpse network see it clipped to [-1, 1] (the location is data: no gradient)
//   action    z = h W_a + b_a             [B x A], softmax (classes, or the game's actions)
//   baseline  b_t = h_t w_b + c_b         [B x 1], trained only by its own squared error
// Parameters come in the order glimpse network, core, location, action, baseline; an agent may
// add its own after them.
#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ram/nn/core.h"
#include "ram/nn/cores.h"
#include "ram/nn/glimpse_network.h"
#include "ram/nn/layers.h"
#include "ram/nn/parameters.h"
#include "ram/nn/retina.h"
#include "ram/nn/tensor.h"
#include "ram/util/error.h"

namespace ram {

// What an episode keeps per glimpse for the backward pass through time; one per thread, reused.
template <typename T>
struct EpisodeTape {
  int rows = 0;
  StepMatrices<T> glimpse;          // T x [B x k*gw*gw]
  StepMatrices<T> location;         // T x [B x 2], clipped: what the retina and h_l see
  StepMatrices<T> sample;           // T x [B x 2], raw
  StepMatrices<T> mean;             // T x [B x 2]
  StepMatrices<T> hidden_glimpse;   // T x [B x h_g]
  StepMatrices<T> hidden_location;  // T x [B x h_l]
  StepMatrices<T> feature;          // T x [B x g]
  StepMatrices<T> state;            // T+1 x [B x S]
  StepMatrices<T> cache;            // T x [B x core cache]
  // Backward: dLoss/dstate_{t+1} while going back through step t, and dLoss/dstate_t; every
  // step's gradient at the core's pre-activations and at the glimpse features, for the weight
  // gradients formed after the pass through time; scratch of the glimpse network's backward.
  Mat<T> dstate, dstate_prev;
  StepMatrices<T> dpre;      // T x [B x core pre-activations]
  StepMatrices<T> dfeature;  // T x [B x g]
  Mat<T> dhidden_glimpse, dhidden_location;
  std::vector<float> retina_scratch;  // for retina_extract
  // > 0: the location policy's std for these episodes (a trainer's annealed one); else the
  // configuration's location_std.
  double location_std = 0;
};

// The settings of the attention body. Every agent's configuration is one (ModelConfig and
// CatchAgentConfig derive from it), so the body's fields have the same names, checks and saved
// form in both; an agent may change the defaults.
struct AttentionConfig {
  RetinaConfig retina;
  int glimpse_hidden = 128;    // h_g
  int location_hidden = 128;   // h_l
  int glimpse_features = 256;  // g
  int core_size = 256;         // H
  std::string core = "relu";
  double location_std = 0.22;  // policy std in [-1, 1] location units
};

// `require` names the agent's configuration in the message.
inline void validate(const AttentionConfig& c, ConfigCheck require) {
  validate(c.retina);
  require(c.glimpse_hidden >= 1 && c.location_hidden >= 1 && c.glimpse_features >= 1 &&
              c.core_size >= 1,
          "layer sizes must be positive");
  require(c.glimpse_hidden <= 1 << 14 && c.location_hidden <= 1 << 14 &&
              c.glimpse_features <= 1 << 14 && c.core_size <= 1 << 14,
          "layer sizes must be at most 16384");
  require(is_known_core(c.core), "unknown core '" + c.core + "' (known: " + kKnownCores + ")");
  require(std::isfinite(c.location_std) && c.location_std > 0 && c.location_std <= 10,
          "location std must be in (0, 10]");
}

template <typename T>
class RecurrentAttention {
 public:
  // `actions` outputs of the action head (classes, or the game's actions).
  RecurrentAttention(const AttentionConfig& config, int actions)
      : sizes_(config),
        actions_(actions),
        glimpse_net_(config.retina.output_size(), config.glimpse_hidden, config.location_hidden,
                     config.glimpse_features),
        core_(make_core<T>(config.core, config.glimpse_features, config.core_size)) {}

  void add_parameters(ParamLayout& layout) {
    const int H = output_size();
    glimpse_net_.add_parameters(layout);
    core_->add_parameters(layout);
    location_w_ = layout.weight("location.weight", H, 2);  // [H x 2]
    location_b_ = layout.bias("location.bias", 2);
    action_w_ = layout.weight("action.weight", H, actions_);  // [H x A]
    action_b_ = layout.bias("action.bias", actions_);
    baseline_w_ = layout.weight("baseline.weight", H, 1);  // [H x 1]
    baseline_b_ = layout.bias("baseline.bias", 1);
  }

  int output_size() const { return core_->output_size(); }  // H
  // h_t [B x H]: the part of state t the heads read.
  template <typename State>
  static auto output(const State& state, int H) {
    return state.leftCols(H);
  }

  // Sizes the tape for `steps` glimpses of `rows` episodes; state 0 is zero.
  void start(EpisodeTape<T>& tape, int steps, int rows) const {
    tape.rows = rows;
    tape.glimpse.resize(steps, rows, sizes_.retina.output_size());
    tape.location.resize(steps, rows, 2);
    tape.sample.resize(steps, rows, 2);
    tape.mean.resize(steps, rows, 2);
    tape.hidden_glimpse.resize(steps, rows, sizes_.glimpse_hidden);
    tape.hidden_location.resize(steps, rows, sizes_.location_hidden);
    tape.feature.resize(steps, rows, sizes_.glimpse_features);
    tape.state.resize(steps + 1, rows, core_->state_size());
    tape.cache.resize(steps, rows, core_->cache_size());
    tape.state[0].setZero();
  }

  // mean[t] = tanh(h_t W_l + b_l).
  void location_mean(const T* params, EpisodeTape<T>& tape, int t) const {
    linear_forward<T>(output(tape.state[t], output_size()), view(params, location_w_),
                      row(params, location_b_), tape.mean[t]);
    tape.mean[t] = tape.mean[t].array().tanh().matrix();
  }

  // Coordinate k of row i's location at step t: `raw` (where log pi is taken) and its clip.
  static void place(EpisodeTape<T>& tape, int t, int i, int k, T raw) {
    tape.sample[t](i, k) = raw;
    tape.location[t](i, k) = std::clamp(raw, T(-1), T(1));
  }

  // b_t [B x 1] from h_t.
  template <typename Out>
  void baseline(const T* params, const EpisodeTape<T>& tape, int t, Out&& b) const {
    linear_forward<T>(output(tape.state[t], output_size()), view(params, baseline_w_),
                      row(params, baseline_b_), b);
  }

  // The action logits [B x A] read from state n.
  template <typename Out>
  void action_logits(const T* params, const EpisodeTape<T>& tape, int n, Out&& logits) const {
    linear_forward<T>(output(tape.state[n], output_size()), view(params, action_w_),
                      row(params, action_b_), logits);
  }

  // Step t once the retina has filled glimpse[t] at location[t]: the glimpse network, then the
  // core, giving state t + 1.
  void step(const T* params, EpisodeTape<T>& tape, int t) const {
    const EpisodeTape<T>& in = tape;
    glimpse_net_.forward(params, in.glimpse[t], in.location[t], tape.hidden_glimpse[t],
                         tape.hidden_location[t], tape.feature[t]);
    core_->forward(params, in.feature[t], in.state[t], tape.state[t + 1], tape.cache[t]);
  }

  // ---- Backward; every parameter gradient accumulates into grads. ----

  // The location's REINFORCE term at step t, -log N(l_t; mu_t, std^2) a with a [B x 1] the
  // weighted advantage, back through tanh: returns d/d(h_t W_l + b_l) [B x 2] =
  // -(l - mu) / std^2 a (1 - mu^2), and accumulates the location head's gradient.
  template <typename Advantage>
  Mat<T> location_backward(const EpisodeTape<T>& tape, int t,
                           const Eigen::MatrixBase<Advantage>& advantage, T inv_var,
                           T* grads) const {
    const auto& mu = tape.mean[t];
    Mat<T> dpre = -(tape.sample[t] - mu).array() * inv_var * advantage.replicate(1, 2).array() *
                  (T(1) - mu.array().square());
    linear_backward_params<T>(output(tape.state[t], output_size()), dpre, view(grads, location_w_),
                              row(grads, location_b_));
    return dpre;
  }

  // REINFORCE reaching the core: dstate (h part) += dpre W_l^T.
  void location_into_state(const T* params, const Mat<T>& dpre, EpisodeTape<T>& tape) const {
    linear_backward_input<T>(dpre, view(params, location_w_), tape.dstate.leftCols(output_size()),
                             true);
  }

  // Given dLoss/db_t [B x 1], the baseline head's gradient (it reads h_t; nothing goes back).
  template <typename DB>
  void baseline_backward(const EpisodeTape<T>& tape, int t, const Eigen::MatrixBase<DB>& dbase,
                         T* grads) const {
    linear_backward_params<T>(output(tape.state[t], output_size()), dbase, view(grads, baseline_w_),
                              row(grads, baseline_b_));
  }

  // Given dLoss/dlogits [B x A] of the action read from state n: the action head's gradient,
  // and dstate (h part) += (or, without accumulate, =) dlogits W_a^T.
  void action_backward(const T* params, EpisodeTape<T>& tape, int n, const Mat<T>& dlogits,
                       T* grads, bool accumulate) const {
    linear_backward_params<T>(output(tape.state[n], output_size()), dlogits, view(grads, action_w_),
                              row(grads, action_b_));
    linear_backward_input<T>(dlogits, view(params, action_w_), tape.dstate.leftCols(output_size()),
                             accumulate);
  }

  // With tape.dstate holding dLoss/dstate_{t+1}: back through the core's recurrence at step t,
  // leaving dLoss/dstate_t in tape.dstate. Every step from the last down to 0 goes through here
  // before backward_params.
  void backward_step(const T* params, int t, EpisodeTape<T>& tape) const {
    const EpisodeTape<T>& in = tape;
    core_->backward_step(params, in.state[t], in.state[t + 1], in.cache[t], map(tape.dstate),
                         tape.dpre[t], map(tape.dstate_prev));
    std::swap(tape.dstate, tape.dstate_prev);
  }

  // After backward_step of every step: the core's and the glimpse network's parameter gradients,
  // each formed once over all the steps' rows (the glimpse network's gradient feeds nothing back
  // into the recurrence, since the location is data).
  void backward_params(const T* params, EpisodeTape<T>& tape, T* grads) const {
    const int steps = static_cast<int>(tape.feature.size());
    const auto feature = std::as_const(tape.feature).steps(0, steps);
    core_->backward_params(params, grads, feature, std::as_const(tape.state).steps(0, steps),
                           std::as_const(tape.dpre).steps(0, steps), tape.dfeature.steps(0, steps));
    glimpse_net_.backward(params, grads, std::as_const(tape.glimpse).steps(0, steps),
                          std::as_const(tape.location).steps(0, steps),
                          std::as_const(tape.hidden_glimpse).steps(0, steps),
                          std::as_const(tape.hidden_location).steps(0, steps), feature,
                          tape.dfeature.steps(0, steps), tape.dhidden_glimpse,
                          tape.dhidden_location);
  }

  // Sizes dstate (zero), dstate_prev and the per-step gradients for backward over the tape's
  // steps and `rows` episodes.
  void start_backward(EpisodeTape<T>& tape, int rows) const {
    const int steps = static_cast<int>(tape.feature.size());
    tape.dstate.setZero(rows, core_->state_size());
    tape.dstate_prev.resize(rows, core_->state_size());
    tape.dpre.resize(steps, rows, core_->preactivation_size());
    tape.dfeature.resize(steps, rows, sizes_.glimpse_features);
  }

  // Multiply-adds x2 of one step: glimpse network, core, location and baseline heads.
  double step_flops() const {
    const double H = sizes_.core_size;
    return glimpse_net_.forward_flops() + core_->forward_flops() + 2.0 * (H * 2 + H);
  }

 private:
  static MatMap<T> map(Mat<T>& m) { return MatMap<T>(m.data(), m.rows(), m.cols()); }

  AttentionConfig sizes_;
  int actions_;
  GlimpseNetwork<T> glimpse_net_;
  std::unique_ptr<Core<T>> core_;
  ParamSlot location_w_, location_b_, action_w_, action_b_, baseline_w_, baseline_b_;
};

}  // namespace ram
