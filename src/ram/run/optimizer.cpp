#include "ram/run/optimizer.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "ram/util/error.h"
#include "ram/util/json_fields.h"

namespace ram {

void validate(const OptimizerConfig& c) {
  auto fail = [](const std::string& m) { throw Error("optimiser configuration: " + m); };
  if (c.kind != "sgd" && c.kind != "adam") fail("unknown optimiser '" + c.kind + "' (sgd, adam)");
  if (!(c.learning_rate > 0) || !std::isfinite(c.learning_rate))
    fail("learning rate must be positive");
  if (!(c.final_learning_rate >= 0) || c.final_learning_rate > c.learning_rate)
    fail("final learning rate must be in [0, learning rate]");
  if (c.schedule != "linear" && c.schedule != "exponential")
    fail("unknown learning-rate schedule '" + c.schedule + "' (linear, exponential)");
  if (c.schedule == "exponential" && !(c.final_learning_rate > 0))
    fail("an exponential learning-rate schedule needs a final learning rate above 0");
  if (!(c.momentum >= 0 && c.momentum < 1)) fail("momentum must be in [0, 1)");
  if (!(c.beta1 >= 0 && c.beta1 < 1 && c.beta2 >= 0 && c.beta2 < 1))
    fail("Adam betas must be in [0, 1)");
  if (!(c.epsilon > 0)) fail("Adam epsilon must be positive");
  if (!(c.clip_norm >= 0) || !std::isfinite(c.clip_norm)) fail("clip norm must be >= 0");
}

nlohmann::json to_json(const OptimizerConfig& c) {
  return {{"kind", c.kind},
          {"learning_rate", c.learning_rate},
          {"final_learning_rate", c.final_learning_rate},
          {"schedule", c.schedule},
          {"momentum", c.momentum},
          {"beta1", c.beta1},
          {"beta2", c.beta2},
          {"epsilon", c.epsilon},
          {"clip_norm", c.clip_norm}};
}

OptimizerConfig optimizer_config_from_json(const nlohmann::json& j) {
  OptimizerConfig c;
  read_json("optimiser configuration: ", [&] {
    c.kind = json_field<std::string>(j, "kind");
    c.learning_rate = json_field<double>(j, "learning_rate");
    c.final_learning_rate = json_field<double>(j, "final_learning_rate");
    c.schedule = json_field_or<std::string>(j, "schedule", "linear");  // absent: older files
    c.momentum = json_field<double>(j, "momentum");
    c.beta1 = json_field<double>(j, "beta1");
    c.beta2 = json_field<double>(j, "beta2");
    c.epsilon = json_field<double>(j, "epsilon");
    c.clip_norm = json_field<double>(j, "clip_norm");
  });
  validate(c);
  return c;
}

Optimizer::Optimizer(const OptimizerConfig& config, std::size_t parameter_count,
                     std::uint64_t total_steps)
    : config_(config), n_(parameter_count), total_steps_(std::max<std::uint64_t>(total_steps, 1)) {
  validate(config_);
  state_.assign(config_.kind == "adam" ? 2 * n_ : n_, 0.0f);
}

namespace {

// The sum of g[i]^2 in double. One running sum is a chain of dependent additions, each waiting
// for the one before (6% of a training step at batch 20); kLanes independent sums, element i
// going to sum i % kLanes, let the compiler use whole vector registers, and adding the sums up in
// a fixed order keeps the result a function of the data alone.
double squared_norm(const float* __restrict g, std::size_t n) {
  constexpr std::size_t kLanes = 16;
  double sums[kLanes] = {};
  std::size_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (std::size_t lane = 0; lane < kLanes; ++lane)
      sums[lane] += static_cast<double>(g[i + lane]) * g[i + lane];
  for (std::size_t lane = 0; i < n; ++i, ++lane) sums[lane] += static_cast<double>(g[i]) * g[i];
  for (std::size_t width = kLanes / 2; width > 0; width /= 2)
    for (std::size_t lane = 0; lane < width; ++lane) sums[lane] += sums[lane + width];
  return sums[0];
}

// The update of one chunk of n parameters, as a plain loop over unaliased arrays with its
// constants passed by value, so that the compiler vectorises it (inside the step's lambdas,
// reading the constants through captured references and the arrays through spans, it stayed
// scalar: 17% of a training step at batch 20). Each element's arithmetic is unchanged, so results
// are bit for bit the same. Returns whether every updated parameter is finite.

// v = momentum v + clip g; p -= lr v
bool sgd_update(float* __restrict p, const float* __restrict g, float* __restrict v, std::size_t n,
                float lr, float clip, float momentum) {
  int finite = 1;
  for (std::size_t i = 0; i < n; ++i) {
    v[i] = momentum * v[i] + clip * g[i];
    p[i] -= lr * v[i];
    finite &= std::isfinite(p[i]);
  }
  return finite;
}

// m = b1 m + (1 - b1) clip g; v = b2 v + (1 - b2) (clip g)^2; p -= lr (m c1) / (sqrt(v c2) + eps),
// c1 and c2 the bias corrections.
bool adam_update(float* __restrict p, const float* __restrict g, float* __restrict m,
                 float* __restrict v, std::size_t n, float lr, float clip, float b1, float b2,
                 float eps, float c1, float c2) {
  int finite = 1;
  for (std::size_t i = 0; i < n; ++i) {
    const float gi = clip * g[i];
    m[i] = b1 * m[i] + (1 - b1) * gi;
    v[i] = b2 * v[i] + (1 - b2) * gi * gi;
    p[i] -= lr * (m[i] * c1) / (std::sqrt(v[i] * c2) + eps);
    finite &= std::isfinite(p[i]);
  }
  return finite;
}

}  // namespace

double Optimizer::learning_rate_at(std::uint64_t step) const {
  const double progress =
      std::min(1.0, static_cast<double>(step) / static_cast<double>(total_steps_));
  if (config_.schedule == "exponential")
    return config_.learning_rate *
           std::pow(config_.final_learning_rate / config_.learning_rate, progress);
  return config_.learning_rate + (config_.final_learning_rate - config_.learning_rate) * progress;
}

StepResult Optimizer::step(std::span<float> params, std::span<float> grads, ThreadPool* pool) {
  if (params.size() != n_ || grads.size() != n_)
    throw Error("optimiser: step given " + std::to_string(params.size()) + " parameters and " +
                std::to_string(grads.size()) + " gradients, expected " + std::to_string(n_));
  // Fixed chunks, reduced in chunk order: the result does not depend on the thread count.
  const int chunks = static_cast<int>((n_ + kChunk - 1) / kChunk);
  auto for_each_chunk = [&](const std::function<void(std::size_t, std::size_t, int)>& body) {
    auto run = [&](int c, int) {
      const std::size_t lo = static_cast<std::size_t>(c) * kChunk;
      body(lo, std::min(n_, lo + kChunk), c);
    };
    if (pool)
      pool->run(chunks, run);
    else
      for (int c = 0; c < chunks; ++c) run(c, 0);
  };

  std::vector<double> partial(chunks);
  for_each_chunk([&](std::size_t lo, std::size_t hi, int c) {
    partial[c] = squared_norm(grads.data() + lo, hi - lo);
  });
  StepResult result;
  double sq = 0;
  for (double p : partial) sq += p;
  result.gradient_norm = std::sqrt(sq);
  if (!std::isfinite(result.gradient_norm)) return result;  // parameters left untouched

  const float clip = config_.clip_norm > 0 && result.gradient_norm > config_.clip_norm
                         ? static_cast<float>(config_.clip_norm / result.gradient_norm)
                         : 1.0f;
  const float lr = static_cast<float>(learning_rate_at(steps_));
  ++steps_;
  std::vector<char> finite(chunks, 1);
  if (config_.kind == "sgd") {
    const float momentum = static_cast<float>(config_.momentum);
    for_each_chunk([&](std::size_t lo, std::size_t hi, int c) {
      finite[c] = sgd_update(params.data() + lo, grads.data() + lo, state_.data() + lo, hi - lo, lr,
                             clip, momentum);
    });
  } else {
    const double t = static_cast<double>(steps_ - skipped_);  // updates the moments have seen
    const float b1 = static_cast<float>(config_.beta1), b2 = static_cast<float>(config_.beta2);
    const float eps = static_cast<float>(config_.epsilon);
    const float c1 = static_cast<float>(1.0 / (1.0 - std::pow(config_.beta1, t)));
    const float c2 = static_cast<float>(1.0 / (1.0 - std::pow(config_.beta2, t)));
    float* m = state_.data();
    float* v = state_.data() + n_;
    for_each_chunk([&](std::size_t lo, std::size_t hi, int c) {
      finite[c] = adam_update(params.data() + lo, grads.data() + lo, m + lo, v + lo, hi - lo, lr,
                              clip, b1, b2, eps, c1, c2);
    });
  }
  result.parameters_finite = std::all_of(finite.begin(), finite.end(), [](char f) { return f; });
  return result;
}

void Optimizer::restore(const std::vector<float>& state, std::uint64_t steps_taken,
                        std::uint64_t steps_skipped) {
  if (state.size() != state_.size())
    throw Error("optimiser state has " + std::to_string(state.size()) + " values, expected " +
                std::to_string(state_.size()));
  if (steps_skipped > steps_taken)
    throw Error("optimiser: " + std::to_string(steps_skipped) + " skipped steps of only " +
                std::to_string(steps_taken));
  state_ = state;
  steps_ = steps_taken;
  skipped_ = steps_skipped;
}

}  // namespace ram
