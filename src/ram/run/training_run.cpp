#include "ram/run/training_run.h"

#include <cmath>
#include <filesystem>

#include "ram/util/error.h"

namespace ram {

std::string what_is_kept(const RunDirectory& directory) {
  const std::string& checkpoint = directory.checkpoint_path();
  if (checkpoint.empty()) return "";
  if (!std::filesystem::exists(checkpoint))
    return "; no checkpoint had been written yet in " + directory.path();
  return "; the last checkpoint " + checkpoint + " is kept";
}

StepOutcome take_step(Optimizer& optimizer, std::span<float> params, std::span<float> gradient,
                      double loss, bool skip_nonfinite, ThreadPool& pool,
                      const RunDirectory& directory, const std::function<std::string()>& where) {
  auto stop = [&](const std::string& what) {
    return Error("training stopped: " + what + " at " + where() + what_is_kept(directory));
  };
  const bool loss_finite = std::isfinite(loss);
  if (!loss_finite && !skip_nonfinite) throw stop("the loss is not finite");
  StepResult update;
  if (loss_finite) update = optimizer.step(params, gradient, &pool);
  if (loss_finite && std::isfinite(update.gradient_norm)) {
    if (!update.parameters_finite) throw stop("a parameter is not finite after the update");
    return StepOutcome::applied;
  }
  // Nothing was updated (the optimiser leaves parameters alone on a non-finite gradient).
  if (!skip_nonfinite) throw stop("the gradient is not finite");
  optimizer.skip_step();
  return StepOutcome::skipped;
}

Checkpoint training_checkpoint(const nlohmann::json& config, std::span<const float> params,
                               const Optimizer& optimizer, std::uint64_t epoch,
                               const nlohmann::json& progress) {
  Checkpoint c;
  c.config_json = config.dump();
  c.parameters.assign(params.begin(), params.end());
  c.optimizer_json = to_json(optimizer.config()).dump();
  c.optimizer_state = optimizer.state();
  c.epoch = epoch;
  c.step = optimizer.steps_taken();
  c.progress_json = progress.dump();
  return c;
}

void require_parameter_count(const std::string& path, const Checkpoint& checkpoint,
                             std::size_t needed) {
  if (checkpoint.parameters.size() != needed)
    throw Error(path + ": the file holds " + std::to_string(checkpoint.parameters.size()) +
                " parameters but its configuration needs " + std::to_string(needed));
}

void restore_training(const Checkpoint& saved, AlignedVector<float>& params, Optimizer& optimizer,
                      std::uint64_t skipped) {
  params.assign(saved.parameters.begin(), saved.parameters.end());
  optimizer.restore(saved.optimizer_state, saved.step, skipped);
}

}  // namespace ram
