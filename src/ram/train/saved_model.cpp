#include "ram/train/saved_model.h"

#include "ram/run/training_run.h"
#include "ram/util/error.h"

namespace ram {

TrainingConfig saved_training_config(const Checkpoint& c, const std::string& path) {
  TrainingConfig config;
  try {
    const auto j = nlohmann::json::parse(c.config_json);
    if (j.is_object() && j.contains("kind") && j["kind"] == "catch")
      throw Error("is a Catch agent, not a classification model (use `ram catch eval`)");
    config = training_config_from_json(j);
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
  require_parameter_count(path, c, parameter_count(config));
  return config;
}

SavedModel load_model(const std::string& path) {
  return saved_model(load_checkpoint(path), path);
}

SavedModel load_model(const std::string& path, const Processes& processes) {
  if (!processes.distributed()) return load_model(path);
  std::vector<std::uint8_t> bytes;
  if (processes.is_root()) bytes = checkpoint_bytes(load_checkpoint(path));
  processes.broadcast(bytes);
  return saved_model(checkpoint_from_bytes(bytes, path), path);
}

SavedModel saved_model(const Checkpoint& c, const std::string& path) {
  SavedModel saved;
  saved.config = saved_training_config(c, path);
  saved.parameters = c.parameters;
  if (!c.progress_json.empty())
    read_progress(c, path, [&](const nlohmann::json& progress) {
      saved.history = metrics_from_json_array<EpochMetrics>(progress.at("metrics"));
    });
  saved.epoch = c.epoch;
  saved.step = c.step;
  return saved;
}

void require_epochs_reached(const std::string& where, std::uint64_t completed,
                            std::int64_t epochs) {
  if (epochs < static_cast<std::int64_t>(completed))
    throw Error(where + ": the run has completed " + std::to_string(completed) +
                " epochs, so it cannot end after " + std::to_string(epochs));
}

TrainingConfig resumed_config(const SavedModel& saved, const ResumeSettings& settings) {
  TrainingConfig config = saved.config;
  if (settings.threads) config.threads = *settings.threads;
  if (settings.checkpoint_every) config.checkpoint_every = *settings.checkpoint_every;
  if (settings.epochs) {
    require_epochs_reached("resume", saved.epoch, *settings.epochs);
    config.epochs = static_cast<int>(*settings.epochs);
  }
  return config;
}

}  // namespace ram
