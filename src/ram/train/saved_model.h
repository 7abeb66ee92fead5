#pragma once
// A classification model read back from a model or checkpoint file, and the settings a resumed
// run may change.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ram/run/checkpoint.h"
#include "ram/run/processes.h"
#include "ram/train/epoch_metrics.h"
#include "ram/train/training_config.h"

namespace ram {

// A trained model read back from a checkpoint file.
struct SavedModel {
  TrainingConfig config;
  std::vector<float> parameters;
  std::vector<EpochMetrics> history;  // one entry per completed epoch
  std::uint64_t epoch = 0, step = 0;
};
SavedModel load_model(const std::string& path);  // throws ram::Error naming the file
// The same read by the root of a distributed run and sent to the others (whose hosts need not
// have the file). Collective.
SavedModel load_model(const std::string& path, const Processes& processes);
// The same from a checkpoint already read from `path` (e.g. RunDirectory::resumed()).
SavedModel saved_model(const Checkpoint& checkpoint, const std::string& path);
// Only the configuration such a checkpoint holds, checked against its parameter count.
TrainingConfig saved_training_config(const Checkpoint& checkpoint, const std::string& path);

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
// A resumed run cannot end before the epochs it has already completed: throws ram::Error
// starting with `where` (the run) if `epochs` is fewer than `completed`.
void require_epochs_reached(const std::string& where, std::uint64_t completed, std::int64_t epochs);

}  // namespace ram
