#pragma once
// A training run's output directory, for every trainer: the files a run keeps there, what a new,
// resumed or overwriting run may find in it, and the lock that keeps a second run out while one
// writes.
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "ram/run/checkpoint.h"
#include "ram/run/processes.h"

namespace ram {

// The files a run writes into its directory.
inline constexpr const char* kCheckpointFile = "checkpoint.ram";  // after every epoch / report
inline constexpr const char* kModelFile = "model.ram";            // the final model
inline constexpr const char* kMetricsFile = "metrics.csv";
// `ram eval`'s latest result of each split of the run's own data (see viz/report.h).
inline constexpr const char* kEvalFile = "eval.json";
// The command line and commit that started the run.
inline constexpr const char* kRunInfoFile = "run.json";
inline constexpr const char* kLockFile = ".lock";  // exists only while a run holds the directory

enum class RunStart {
  fresh,      // a new run: the directory must not hold one already
  resume,     // continue from DIR/checkpoint.ram
  overwrite,  // a new run that replaces whatever run the directory holds
};

// Throws ram::Error naming out_dir if a run started this way cannot use it: it is a file, or a
// fresh run finds a run there already (which it must not silently replace), or a resumed one
// finds no checkpoint. Cheap, and takes no lock: RunDirectory checks again once it holds one.
void check_run_directory(const std::string& out_dir, RunStart start);

// out_dir/checkpoint.ram, which a resumed run continues from. Throws ram::Error naming the file
// if there is none.
std::string checkpoint_to_resume(const std::string& out_dir);

// Writes out_dir/model.ram, a run's final model, from `checkpoint` without its optimiser state:
// the model file is what users evaluate and share, and only a resumed run needs the optimiser's
// moments (for Adam, two more copies of the parameters), which the checkpoint keeps.
void save_model_file(const std::string& out_dir, Checkpoint checkpoint);

// A resumed run continues with the settings it started with: throws ram::Error naming
// `checkpoint_path` and the first setting (a JSON pointer such as /optimizer/learning_rate) in
// which `requested` differs from `saved`, the two configurations as JSON, other than the
// settings listed in `may_change` (e.g. /threads).
void require_same_run(const std::string& checkpoint_path, const nlohmann::json& saved,
                      const nlohmann::json& requested,
                      std::initializer_list<std::string_view> may_change);

// Holds out_dir for one run: creates it if need be, takes an exclusive flock on out_dir/.lock
// (throwing ram::Error if another run holds it), removes temporary files a killed run left
// behind, checks the directory with check_run_directory and, for RunStart::resume, reads the
// checkpoint: the one read of it, from which the caller takes the run's settings and the trainer
// its position, so both see the same file. The kernel drops the lock when the process ends, even
// by SIGKILL, so a stale lock never blocks a resume; a run that ends normally also removes the
// lock file. An empty out_dir is a run that writes nothing (and cannot be resumed).
//
// Open it before the slow preparations (loading data), so that a busy or wrong directory fails
// at once; the trainer calls begin_run() when it starts writing.
class RunDirectory {
 public:
  RunDirectory(const std::string& out_dir, RunStart start);
  // The directory as the processes of a distributed run hold it: the root holds out_dir as
  // above, the others write nothing (path() is "") but resume from the checkpoint the root read,
  // which travels to them, so that hosts need not share a file system. Collective: every process
  // constructs it at the same point.
  RunDirectory(const std::string& out_dir, RunStart start, const Processes& processes);
  ~RunDirectory();
  RunDirectory(const RunDirectory&) = delete;
  RunDirectory& operator=(const RunDirectory&) = delete;

  // out_dir, or "" for a run that writes nothing.
  const std::string& path() const { return out_dir_; }
  // out_dir/checkpoint.ram, or "" for a run that writes nothing.
  const std::string& checkpoint_path() const { return checkpoint_path_; }
  // For RunStart::resume, the checkpoint read once the directory was held; otherwise empty.
  const std::optional<Checkpoint>& resumed() const { return resumed_; }

  // What begin_run() writes to kRunInfoFile for a new run (JSON text: how it was started).
  void set_start_record(std::string json_text) { start_record_ = std::move(json_text); }

  // For RunStart::overwrite, removes the old run's files; for a new run, writes the start record
  // if one was set. Called by the trainer once it is ready to write, so that a run which fails
  // before (bad data, a wrong setting) leaves the old run whole.
  void begin_run() const;

 private:
  RunStart start_;
  std::string out_dir_;
  std::optional<Checkpoint> resumed_;
  std::string checkpoint_path_;
  std::string lock_path_;
  int fd_ = -1;
  std::string start_record_;
};

}  // namespace ram
