#pragma once
// A classification run's settings (the model, its task, the optimiser and the loss) and the
// facts and operations every command derives from them, whatever the architecture: RAM or one
// of the paper's baselines.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <string>

#include "ram/env/image_set.h"
#include "ram/env/tasks.h"
#include "ram/models/baselines.h"
#include "ram/models/ram_model.h"
#include "ram/run/optimizer.h"
#include "ram/train/evaluate.h"
#include "ram/util/thread_pool.h"

namespace ram {

struct TrainingConfig {
  // "ram" (the model of model.h) or one of the paper's baselines of baselines.h: fc64, fc256,
  // conv. A baseline takes its image size and classes from `model` and ignores the rest of it.
  std::string architecture = "ram";
  int conv_filters = 16;  // conv baseline: 16 as in the paper's text (its caption says 8)
  ModelConfig model;
  TaskConfig task;
  OptimizerConfig optimizer;
  LossWeights loss;
  std::string data = "mnist";  // see data/source.h
  int epochs = 10;
  int batch_size = 20;
  int monte_carlo = 1;           // M: each image repeated M times in a batch, own noise each
  bool random_glimpses = false;  // the control: locations uniform in [-1, 1], no policy
  // > 0: the location policy's std starts here and moves linearly, step by step, to
  // model.location_std at the end of the run (exploration wide first, then close to the
  // deterministic policy that the mean-location evaluation runs); evaluation, validation
  // included, uses model.location_std. 0: model.location_std throughout. A configuration without
  // the field (files from before) reads as 0.
  double initial_std = 0;
  int threads = 2;
  std::uint64_t seed = 1;
  double init_range = 0.1;                   // weights uniform in [-r, r], biases 0
  int eval_samples = 1;                      // M at validation
  std::uint64_t validation_seed = 20140624;  // renders the validation set; fixed across runs
  // A batch whose loss or gradient is not finite: stop training (false, the default) or leave
  // the parameters as they are, count the batch in EpochMetrics::skipped_batches and go on.
  bool skip_nonfinite_batches = false;
  // Also checkpoint every this many optimiser steps within an epoch (0: only after each epoch).
  // Like threads, a setting of the run rather than of the model: a resumed run takes its own.
  std::uint64_t checkpoint_every = 0;
};

void validate(const TrainingConfig& config);
nlohmann::json to_json(const TrainingConfig& config);
TrainingConfig training_config_from_json(const nlohmann::json& j);  // throws ram::Error

// The baseline network a configuration with a baseline architecture describes.
BaselineConfig baseline_config(const TrainingConfig& config);
// Facts about the model a configuration describes, whatever its architecture.
std::size_t parameter_count(const TrainingConfig& config);
ParamLayout parameter_layout(const TrainingConfig& config);
double forward_flops(const TrainingConfig& config);
void initialize_parameters(const TrainingConfig& config, std::span<float> params);

// Classification error of the model a configuration describes (RAM or baseline), shared out
// over `processes` when distributed; see evaluate.h.
EvalResult evaluate_trained(const TrainingConfig& config, std::span<const float> params,
                            const ImageSet& images, const EvalOptions& options, ThreadPool& pool,
                            const Processes& processes = {});

// The location policy's std during optimiser step `step` (0-based) of `total_steps`.
double location_std_at(const TrainingConfig& config, std::uint64_t step, std::uint64_t total_steps);

// The evaluation set for a task: the digits rendered once from the fixed validation seed.
ImageSet render_evaluation_set(const TrainingConfig& config, const ImageSet& digits);
EvalOptions evaluation_options(const TrainingConfig& config, bool mean_location, int samples);
// How such an evaluation chooses its glimpses, in words: "sampled locations", "mean locations",
// "random glimpses", or "the conv baseline" for a model without a policy.
std::string location_policy_name(const TrainingConfig& config, bool mean_location);

// Calls f with the model a configuration describes.
template <typename F>
decltype(auto) with_model(const TrainingConfig& config, F&& f) {
  if (config.architecture == "ram") return f(RamModel<float>(config.model));
  return f(BaselineModel<float>(baseline_config(config)));
}

}  // namespace ram
