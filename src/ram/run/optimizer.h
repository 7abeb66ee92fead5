#pragma once
// Optimisers over the flat parameter buffer: SGD with momentum (the paper's) and Adam, both with
// the learning rate annealed (linearly or exponentially) from its initial value to a final one
// over the run, and optional clipping of the global gradient norm.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "ram/util/thread_pool.h"

namespace ram {

// Adam is the default: measured on 28x28 MNIST (README), the paper's SGD with momentum either
// learns far more slowly (lr 0.01) or stalls (lr 0.05) within the budgets we train for.
struct OptimizerConfig {
  std::string kind = "adam";  // "adam" or "sgd"
  double learning_rate = 0.001;
  double final_learning_rate = 0.0;  // reached after the last step; the paper anneals to zero
  // How the rate goes from learning_rate to final_learning_rate over the run: "linear" (the
  // paper's), or "exponential", lr * (final / lr)^progress (a constant factor per step; needs a
  // final rate above 0, the floor it ends on).
  std::string schedule = "linear";
  double momentum = 0.9;                              // sgd
  double beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8;  // adam
  double clip_norm = 0.0;  // rescale the gradient when its L2 norm exceeds this; 0 = off
};

void validate(const OptimizerConfig& config);
nlohmann::json to_json(const OptimizerConfig& config);
OptimizerConfig optimizer_config_from_json(const nlohmann::json& j);

struct StepResult {
  double gradient_norm = 0;       // before clipping; not finite: nothing was updated
  bool parameters_finite = true;  // every parameter is finite after the update
};

class Optimizer {
 public:
  Optimizer(const OptimizerConfig& config, std::size_t parameter_count, std::uint64_t total_steps);

  const OptimizerConfig& config() const { return config_; }
  double learning_rate_at(std::uint64_t step) const;
  // One update. A non-finite gradient norm leaves parameters and state untouched. With a pool,
  // the work is split over its threads; the result is the same for any thread count.
  StepResult step(std::span<float> params, std::span<float> grads, ThreadPool* pool = nullptr);

  // Counts a step without updating anything (a skipped non-finite batch): the learning-rate
  // schedule and the training position move on as if it had been taken, while Adam's bias
  // correction, which counts the updates its moments have seen, does not.
  void skip_step() {
    ++steps_;
    ++skipped_;
  }

  std::uint64_t steps_taken() const { return steps_; }  // including skipped ones
  std::uint64_t steps_skipped() const { return skipped_; }
  // Momentum (sgd) or first then second moments (adam), for checkpoints.
  const std::vector<float>& state() const { return state_; }
  // Continues from a checkpoint; steps_taken counts the skipped ones. Throws ram::Error.
  void restore(const std::vector<float>& state, std::uint64_t steps_taken,
               std::uint64_t steps_skipped);

 private:
  OptimizerConfig config_;
  std::size_t n_;
  std::uint64_t total_steps_;
  std::uint64_t steps_ = 0;
  std::uint64_t skipped_ = 0;
  std::vector<float> state_;
  static constexpr std::size_t kChunk = 16384;
};

}  // namespace ram
