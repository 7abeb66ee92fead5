#pragma once
// What every trainer does around its gradient: the optimiser step with its checks for numbers
// that are not finite, the checkpoint of a run's position, and the restart from one.
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <span>
#include <string>

#include "ram/nn/parameters.h"
#include "ram/run/checkpoint.h"
#include "ram/run/optimizer.h"
#include "ram/run/run_directory.h"
#include "ram/util/json_fields.h"
#include "ram/util/thread_pool.h"

namespace ram {

enum class StepOutcome { applied, skipped };

// Takes the optimiser step for a batch whose weighted loss sum is `loss`. A loss or gradient
// that is not finite leaves the parameters as they are: with `skip_nonfinite` the batch is
// counted as skipped (Optimizer::skip_step) and training goes on; otherwise training stops with
// ram::Error "training stopped: <what> at <where()>", followed by what `directory` still holds.
// A parameter that is not finite after an update always stops training.
StepOutcome take_step(Optimizer& optimizer, std::span<float> params, std::span<float> gradient,
                      double loss, bool skip_nonfinite, ThreadPool& pool,
                      const RunDirectory& directory, const std::function<std::string()>& where);

// The end of the message when training stops: the last checkpoint is kept, or none was written
// yet ("" for a run that writes nothing).
std::string what_is_kept(const RunDirectory& directory);

// A checkpoint of a run at `epoch` (completed epochs; 0 where a trainer has none) and the
// optimiser's step, with the trainer's configuration and `progress` (what else it needs to
// resume: its metrics table, running sums).
Checkpoint training_checkpoint(const nlohmann::json& config, std::span<const float> params,
                               const Optimizer& optimizer, std::uint64_t epoch,
                               const nlohmann::json& progress);

// Throws ram::Error naming `path` unless the checkpoint holds `needed` parameters (what the
// configuration it carries describes).
void require_parameter_count(const std::string& path, const Checkpoint& checkpoint,
                             std::size_t needed);

// Continues params and optimizer from `saved`; `skipped` of its steps were skipped batches.
void restore_training(const Checkpoint& saved, AlignedVector<float>& params, Optimizer& optimizer,
                      std::uint64_t skipped);

// Calls read(progress) with the checkpoint's progress JSON, turning any error into a ram::Error
// naming the file.
template <typename Read>
void read_progress(const Checkpoint& saved, const std::string& path, Read&& read) {
  read_json(path + ": training progress is unreadable: ",
            [&] { read(nlohmann::json::parse(saved.progress_json)); });
}

}  // namespace ram
