#pragma once
// The Recurrent Attention Model for classification (Mnih et al. 2014), forward and backward.
//
// One episode over a batch of B images, T glimpses, h = the core's output columns:
//   state_0 = 0
//   for t = 0 .. T-1:
//     mu_t   = tanh(h_t W_loc + b_loc)                     location policy mean      [B x 2]
//     l_t    = mu_t + std * eps_t  (raw sample, log pi is taken here)                [B x 2]
//              with random_first_glimpse, l_0 = erf(eps_0 / sqrt 2), uniform in [-1, 1],
//              in sampled and mean-location episodes alike: no policy chose it, so it has
//              no REINFORCE term (RF below sums over t = 1 .. T-1)
//     b_t    = h_t W_base + b_base  (h_t detached: no gradient reaches the core)     [B x 1]
//              or, with the sigmoid reward baseline, lo + (1 - lo) sigmoid(h_t W_base + b_base),
//              bounded to the reward's range [lo, 1] (lo = 0, or -c T with adaptive stopping)
//     rho_t  = retina(x, clip(l_t, -1, 1))                                           [B x k*gw*gw]
//     h_g    = ReLU(rho_t W_gx + b_gx);   h_l = ReLU(clip(l_t) W_gl + b_gl)          [B x 128]
//     g_t    = ReLU(h_g W_g_what + h_l W_g_where + b_g)                              [B x 256]
//     state_{t+1} = core(state_t, g_t)                                               [B x S]
//   logits = h_T W_act + b_act; p = softmax(logits)                                  [B x C]
// The location after the last glimpse is never sampled (it would never be used).
//
// Loss (hybrid, per image; the trainer divides by the batch size):
//   CE = -log p[y]                      trains action, core and glimpse nets; with
//        classifier_at_every_step the mean over t = 1..T of -log softmax(h_t W_act + b_act)[y]
//        (the answer and the reward still come from step T)
//   RF = -sum_t log N(l_t; mu_t, std^2) * (R - b_t)   with (R - b_t) a constant; trains the
//        location net only, unless reinforce_trains_core lets it reach the core as well
//   BL = sum_t (b_t - R)^2              trains the baseline only
//   R  = 1 if argmax p == y else 0
// l_t is data: no gradient flows through it into the location net or across time.
//
// Adaptive stopping (ModelConfig::adaptive_stopping; the paper's Discussion). After glimpse
// n = 1 .. T-1 a stop policy reads h_n (state_n's output columns):
//   z_n = h_n W_stop + b_stop;  q_n = sigmoid(z_n) = P(stop after glimpse n)         [B x 1]
//   s_n ~ Bernoulli(q_n) (sampled), s_n = [q_n > 0.5] (thresholded), or given (tests)
// The episode ends at the first n with s_n = 1, or at n = T, where stopping is forced: there is
// no decision, and so no log-probability, after the last glimpse. N = glimpses taken (1..T).
// The classifier is the same action net at every step: logits_n = h_n W_act + b_act, and the
// answer is p = softmax(logits_N). The episode still runs all T steps (a batch is one matrix);
// what follows glimpse N does not change the answer, the reward or any REINFORCE term.
//   R  = [argmax p_N == y] - c * N                     c = glimpse_cost
//   CE = -log p_N[y]                    the classifier trained at the stopping step only, or
//      = (1/T) sum_{n=1..T} -log p_n[y] with classifier_at_every_step (all T steps, also those
//                                       after N: they are supervised data like any other)
//   RF = -sum_{t=0..N-1} log N(l_t; mu_t, std^2) (R - b_t)     the locations actually used
//        -sum_{n=1..min(N,T-1)} log Bern(s_n; q_n) (R - b_n)    the continue decisions s_n = 0
//                                       for n < N, and the stop s_N = 1 if N < T
//   BL = sum_{t=0..min(N,T-1)} (b_t - R)^2   every baseline some REINFORCE term used
// b_n is one baseline per state h_n: it serves both the stop decision read from h_n and the
// location l_n sampled from h_n (neither depends on the action). (R - b) is a constant; the stop
// net gets no CE gradient (the decisions are data, like the locations) and its REINFORCE term
// reaches the core only with reinforce_trains_core, like the location net's. The d/dz of
// -log Bern(s; sigmoid(z)) is (q - s). Without adaptive stopping N = T for every image and all
// of the above reduces to the fixed-length model, computed by the same code as before.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "ram/models/attention_agent.h"
#include "ram/nn/parameters.h"
#include "ram/nn/recurrent_attention.h"
#include "ram/nn/retina.h"
#include "ram/nn/tensor.h"

namespace ram {

// The body's settings (retina, layer sizes, core, location_std) come from AttentionConfig, with
// its defaults: the paper's ReLU core, and a policy std of 0.22 (the Torch reproduction's value),
// measured best of 0.08 / 0.12 / 0.17 / 0.22 on 28x28 digits (README).
struct ModelConfig : AttentionConfig {
  int image_height = 28;
  int image_width = 28;
  int glimpses = 6;  // T
  int classes = 10;
  bool reinforce_trains_core = false;
  // The reward baseline b_t: "linear" in h_t (the paper's), or "sigmoid", squashed into the
  // reward's range so that |R - b_t| never exceeds that range whatever the core's output does
  // (a ReLU core's h_t is unbounded).
  std::string reward_baseline = "linear";
  // Learned stopping (see the header comment). Configurations saved without these fields read
  // as false / 0: the fixed-length model.
  bool adaptive_stopping = false;
  double glimpse_cost = 0;                // c in R = correct - c * N; needs adaptive_stopping
  bool classifier_at_every_step = false;  // CE at every step, not only at the last (or stopping)
  // The first glimpse at a uniformly random location instead of the policy's (as some
  // reproductions do); absent from configurations saved before it existed: false.
  bool random_first_glimpse = false;
};

void validate(const ModelConfig& config);
nlohmann::json to_json(const ModelConfig& config);
ModelConfig model_config_from_json(const nlohmann::json& j);  // throws ram::Error

// How the location of each glimpse is chosen.
enum class LocationMode {
  sample,   // l_t = mu_t + std * draw, draws standard normal (training, sampled evaluation)
  mean,     // l_t = mu_t (deterministic evaluation)
  uniform,  // l_t = draw, draws uniform in [-1, 1] (the random-glimpse control)
  given,    // l_t = draw, the raw locations themselves (tests; log pi evaluated at them)
};

// How the stop decisions of adaptive stopping are made (ignored without it).
enum class StopMode {
  sample,     // s_n = [u < q_n], u uniform from the draw (training, sampled evaluation)
  threshold,  // s_n = [q_n > 0.5] (deterministic evaluation)
  given,      // s_n = [draw > 0.5]: the decisions themselves (tests; log pi evaluated at them)
};

struct LossWeights {
  double reinforce = 1.0;
  double baseline = 1.0;
};

// Sums over the images of a batch (not means), so slices computed on threads add up.
struct LossSums {
  double cross_entropy = 0;
  double reinforce = 0;
  double baseline = 0;
  double correct = 0;
  double images = 0;
  double glimpses = 0;  // glimpses taken
  // What drives REINFORCE, watched per epoch (the baseline reads h_t, which a ReLU core leaves
  // unbounded): h_t = the core's output after each glimpse taken, mu_t = each policy mean
  // sampled from; the maxima are over the images summed.
  double state_l1 = 0;         // sum of ||h_t||_1 over the glimpses taken
  double state_l1_max = 0;     // max ||h_t||_1
  double advantage_max = 0;    // max |R - b_t| over the baselines trained
  double saturated_means = 0;  // policy-mean coordinates with |mu| > 0.9
  double policy_means = 0;     // policy-mean coordinates sampled from
  LossSums& operator+=(const LossSums& o) {
    cross_entropy += o.cross_entropy;
    reinforce += o.reinforce;
    baseline += o.baseline;
    correct += o.correct;
    images += o.images;
    glimpses += o.glimpses;
    state_l1 += o.state_l1;
    state_l1_max = std::max(state_l1_max, o.state_l1_max);
    advantage_max = std::max(advantage_max, o.advantage_max);
    saturated_means += o.saturated_means;
    policy_means += o.policy_means;
    return *this;
  }
  double total(const LossWeights& w) const {
    return cross_entropy + w.reinforce * reinforce + w.baseline * baseline;
  }
};

// Everything one episode keeps for the backward pass; one per thread, reused across batches.
// The tape of recurrent_attention.h, with what classification adds.
template <typename T>
struct Workspace : EpisodeTape<T> {
  LocationMode mode = LocationMode::sample;
  StopMode stop_mode = StopMode::sample;
  Mat<T> baseline;       // [B x T]
  Mat<T> logits, probs;  // [B x C], of the answer (at the stopping step)
  Mat<T> reward;         // [B x 1]
  Mat<T> advantage;      // [B x T], R - b_t, held constant in backward
  // Adaptive stopping: decisions after glimpses 1 .. T-1 (column n-1 for glimpse n; only the
  // columns before glimpses_taken were decided), and the classifier at every step.
  std::vector<int> glimpses_taken;              // [B], N in 1..T (T without adaptive stopping)
  Mat<T> stop_logit, stop_prob, stop;           // [B x T-1] z_n, q_n, s_n
  std::vector<Mat<T>> step_logits, step_probs;  // T x [B x C], adaptive stopping only
  Mat<T> dlogits;                               // scratch for backward
};

template <typename T>
class RamModel : public AttentionAgent<T, ModelConfig> {
 public:
  explicit RamModel(const ModelConfig& config);
  // T x 2 location draws, then (adaptive stopping) T-1 stop draws.
  int draws_per_image() const {
    return config_.glimpses * 2 + (config_.adaptive_stopping ? config_.glimpses - 1 : 0);
  }

  // Runs one episode on `count` images (each image_height x image_width floats, back to back).
  // draws: count x draws_per_image() values whose meaning depends on mode (the location draws
  // are ignored for mean). With adaptive stopping, the stop draws of an image follow its T x 2
  // location draws: standard normal for sample (u = Phi(draw); uniform in [-1, 1] with the
  // uniform location mode, u = (draw + 1) / 2), ignored for threshold, 0/1 for given.
  void forward(const T* params, const float* images, int count, LocationMode mode, const T* draws,
               Workspace<T>& ws, StopMode stop_mode = StopMode::sample) const;

  // R = correct - c * N; advantage = R - b_t. Call after forward, before loss/backward.
  void assign_rewards(const std::uint8_t* labels, Workspace<T>& ws) const;

  LossSums loss_sums(const std::uint8_t* labels, const Workspace<T>& ws) const;

  // Accumulates scale * d(CE + w.reinforce RF + w.baseline BL)/dparams, summed over the rows
  // of ws, into grads. ws.reward and ws.advantage are treated as constants.
  void backward(const T* params, const std::uint8_t* labels, const LossWeights& weights, T scale,
                Workspace<T>& ws, T* grads) const;

  // The classifier's probabilities [rows x C] read from the state after glimpse n (1..T) of the
  // episode in ws: the answer the model would give had it stopped there. For pictures of when
  // the model becomes sure; the loss reads only the answering step (or, with adaptive stopping,
  // ws.step_probs).
  void step_probabilities(const T* params, const Workspace<T>& ws, int n, Mat<T>& probs) const;

  // Multiply-adds x2 of one image's forward pass (the backward pass costs about twice that).
  double forward_flops() const;

 private:
  using AttentionAgent<T, ModelConfig>::config_;
  using AttentionAgent<T, ModelConfig>::body_;
  using AttentionAgent<T, ModelConfig>::layout_;
  using AttentionAgent<T, ModelConfig>::location_std;
  // The first step whose location the policy chose: 1 with a random first glimpse, else 0.
  int first_policy_step() const { return config_.random_first_glimpse ? 1 : 0; }
  void forward_stopping(const T* params, const T* draws, Workspace<T>& ws) const;
  // step_logits and step_probs: the classifier read from every state h_1 .. h_T.
  void forward_step_classifiers(const T* params, Workspace<T>& ws) const;
  void backward_stopping(const T* params, const std::uint8_t* labels, const LossWeights& weights,
                         T scale, Workspace<T>& ws, T* grads) const;
  // The lowest reward: 0, or -c T with adaptive stopping (R = correct - c N).
  T reward_floor() const;
  // Given dLoss/db_t [B x 1], accumulates the baseline's parameter gradient (b_t reads h_t).
  void backward_baseline(int t, Mat<T> dbase, const Workspace<T>& ws, T* grads) const;

  ParamSlot stop_w_, stop_b_;  // adaptive stopping only
};

extern template class RamModel<float>;
extern template class RamModel<double>;

}  // namespace ram
