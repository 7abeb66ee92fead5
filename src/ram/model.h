#pragma once
// The Recurrent Attention Model for classification (Mnih et al. 2014), forward and backward.
//
// One episode over a batch of B images, T glimpses, h = the core's output columns:
//   state_0 = 0
//   for t = 0 .. T-1:
//     mu_t   = tanh(h_t W_loc + b_loc)                     location policy mean      [B x 2]
//     l_t    = mu_t + std * eps_t  (raw sample, log pi is taken here)                [B x 2]
//     b_t    = h_t W_base + b_base  (h_t detached: no gradient reaches the core)     [B x 1]
//     rho_t  = retina(x, clip(l_t, -1, 1))                                           [B x k*gw*gw]
//     h_g    = ReLU(rho_t W_gx + b_gx);   h_l = ReLU(clip(l_t) W_gl + b_gl)          [B x 128]
//     g_t    = ReLU(h_g W_g_what + h_l W_g_where + b_g)                              [B x 256]
//     state_{t+1} = core(state_t, g_t)                                               [B x S]
//   logits = h_T W_act + b_act; p = softmax(logits)                                  [B x C]
// The location after the last glimpse is never sampled (it would never be used).
//
// Loss (hybrid, per image; the trainer divides by the batch size):
//   CE = -log p[y]                      trains action, core and glimpse nets
//   RF = -sum_t log N(l_t; mu_t, std^2) * (R - b_t)   with (R - b_t) a constant; trains the
//        location net only, unless reinforce_trains_core lets it reach the core as well
//   BL = sum_t (b_t - R)^2              trains the baseline only
//   R  = 1 if argmax p == y else 0
// l_t is data: no gradient flows through it into the location net or across time.
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "ram/core.h"
#include "ram/glimpse_network.h"
#include "ram/parameters.h"
#include "ram/retina.h"
#include "ram/tensor.h"

namespace ram {

struct ModelConfig {
  int image_height = 28;
  int image_width = 28;
  RetinaConfig retina;
  int glimpses = 6;            // T
  int glimpse_hidden = 128;    // h_g
  int location_hidden = 128;   // h_l
  int glimpse_features = 256;  // g
  int core_size = 256;         // h
  int classes = 10;
  std::string core = "relu";
  // Policy standard deviation in [-1, 1] location units. 0.22 (the Torch reproduction's value)
  // measured best of 0.08 / 0.12 / 0.17 / 0.22 on 28x28 digits (README).
  double location_std = 0.22;
  bool reinforce_trains_core = false;
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
  LossSums& operator+=(const LossSums& o) {
    cross_entropy += o.cross_entropy;
    reinforce += o.reinforce;
    baseline += o.baseline;
    correct += o.correct;
    images += o.images;
    return *this;
  }
  double total(const LossWeights& w) const {
    return cross_entropy + w.reinforce * reinforce + w.baseline * baseline;
  }
};

// Everything one episode keeps for the backward pass; one per thread, reused across batches.
template <typename T>
struct Workspace {
  int rows = 0;
  LocationMode mode = LocationMode::sample;
  std::vector<Mat<T>> glimpse;          // T x [B x k*gw*gw]
  std::vector<Mat<T>> location;         // T x [B x 2], clipped: what the retina and h_l see
  std::vector<Mat<T>> sample;           // T x [B x 2], raw
  std::vector<Mat<T>> mean;             // T x [B x 2]
  std::vector<Mat<T>> hidden_glimpse;   // T x [B x h_g]
  std::vector<Mat<T>> hidden_location;  // T x [B x h_l]
  std::vector<Mat<T>> feature;          // T x [B x g]
  std::vector<Mat<T>> state;            // T+1 x [B x S]
  std::vector<Mat<T>> cache;            // T x [B x core cache]
  Mat<T> baseline;                      // [B x T]
  Mat<T> logits, probs;                 // [B x C]
  Mat<T> reward;                        // [B x 1]
  Mat<T> advantage;                     // [B x T], R - b_t, held constant in backward
  // Scratch for backward.
  Mat<T> dstate, dstate_prev, dfeature, dhidden_glimpse, dhidden_location, dlogits, dpolicy;
};

template <typename T>
class RamModel {
 public:
  explicit RamModel(const ModelConfig& config);
  RamModel(const RamModel&) = delete;
  RamModel& operator=(const RamModel&) = delete;

  const ModelConfig& config() const { return config_; }
  const ParamLayout& layout() const { return layout_; }
  std::size_t parameter_count() const { return layout_.total(); }
  int draws_per_image() const { return config_.glimpses * 2; }

  // Weights uniform in [-init_range, init_range], biases zero.
  void initialize(std::span<T> params, std::uint64_t seed, double init_range) const;

  // Runs one episode on `count` images (each image_height x image_width floats, back to back).
  // draws: count x T x 2 values whose meaning depends on mode (ignored for mean).
  void forward(const T* params, const float* images, int count, LocationMode mode, const T* draws,
               Workspace<T>& ws) const;

  // R = 1 for a correct answer; advantage = R - b_t. Call after forward, before loss/backward.
  void assign_rewards(const std::uint8_t* labels, Workspace<T>& ws) const;

  LossSums loss_sums(const std::uint8_t* labels, const Workspace<T>& ws) const;

  // Accumulates scale * d(CE + w.reinforce RF + w.baseline BL)/dparams, summed over the rows
  // of ws, into grads. ws.reward and ws.advantage are treated as constants.
  void backward(const T* params, const std::uint8_t* labels, const LossWeights& weights, T scale,
                Workspace<T>& ws, T* grads) const;

  // Multiply-adds x2 of one image's forward pass (the backward pass costs about twice that).
  double forward_flops() const;

 private:
  ModelConfig config_;
  GlimpseNetwork<T> glimpse_net_;
  std::unique_ptr<Core<T>> core_;
  ParamLayout layout_;
  ParamSlot location_w_, location_b_, action_w_, action_b_, baseline_w_, baseline_b_;
};

extern template class RamModel<float>;
extern template class RamModel<double>;

}  // namespace ram
