#include "ram/run/run_directory.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "ram/util/error.h"
#include "ram/util/files.h"

namespace ram {

namespace {

std::string errno_text() {
  return std::strerror(errno);
}

bool exists_in(const std::string& dir, const char* file) {
  std::error_code ec;
  return std::filesystem::exists(std::filesystem::path(dir) / file, ec);
}

// A run killed while writing leaves "<file>.tmp..." behind; the caller holds the lock, so no one
// else can be writing them now.
void remove_stale_temporaries(const std::string& out_dir) {
  for (const auto& entry : std::filesystem::directory_iterator(out_dir)) {
    const std::string name = entry.path().filename().string();
    for (const char* file : {kCheckpointFile, kModelFile, kMetricsFile, kEvalFile, kRunInfoFile}) {
      if (name.starts_with(std::string(file) + ".tmp")) {
        std::error_code ignored;
        std::filesystem::remove(entry.path(), ignored);
      }
    }
  }
}

void require_directory_or_nothing(const std::string& out_dir) {
  std::error_code ec;
  const auto status = std::filesystem::status(out_dir, ec);
  if (std::filesystem::exists(status) && !std::filesystem::is_directory(status))
    throw Error(out_dir + ": exists and is not a directory; --out needs a directory");
}

}  // namespace

void check_run_directory(const std::string& out_dir, RunStart start) {
  if (out_dir.empty()) {
    if (start == RunStart::resume) throw Error("resume: no output directory given");
    return;  // a run that writes nothing
  }
  require_directory_or_nothing(out_dir);
  switch (start) {
    case RunStart::resume:
      checkpoint_to_resume(out_dir);
      return;
    case RunStart::overwrite:
      return;
    case RunStart::fresh:
      if (exists_in(out_dir, kModelFile))
        throw Error(out_dir + ": holds a finished run (" + kModelFile +
                    "); --resume continues it (with --epochs to train it further), --overwrite "
                    "replaces it");
      if (exists_in(out_dir, kCheckpointFile))
        throw Error(out_dir + ": holds an unfinished run (" + kCheckpointFile +
                    "); --resume continues it, --overwrite replaces it");
      return;
  }
}

std::string checkpoint_to_resume(const std::string& out_dir) {
  const std::string path = (std::filesystem::path(out_dir) / kCheckpointFile).string();
  if (!std::filesystem::exists(path)) throw Error(path + ": no checkpoint to resume from");
  return path;
}

void save_model_file(const std::string& out_dir, Checkpoint checkpoint) {
  checkpoint.optimizer_state.clear();
  save_checkpoint((std::filesystem::path(out_dir) / kModelFile).string(), checkpoint);
}

void require_same_run(const std::string& checkpoint_path, const nlohmann::json& saved,
                      const nlohmann::json& requested,
                      std::initializer_list<std::string_view> may_change) {
  for (const auto& change : nlohmann::json::diff(saved, requested)) {
    const std::string path = change.value("path", "");
    bool allowed = false;
    for (std::string_view setting : may_change) allowed = allowed || path == setting;
    if (allowed) continue;
    const nlohmann::json::json_pointer pointer(path);
    const std::string was = saved.contains(pointer) ? saved.at(pointer).dump() : "unset";
    const std::string now = requested.contains(pointer) ? requested.at(pointer).dump() : "unset";
    throw Error(checkpoint_path + ": a resumed run keeps the settings it started with, but " +
                path + " would change from " + was + " to " + now);
  }
}

RunDirectory::RunDirectory(const std::string& out_dir, RunStart start)
    : start_(start),
      out_dir_(out_dir),
      checkpoint_path_(
          out_dir.empty() ? "" : (std::filesystem::path(out_dir) / kCheckpointFile).string()),
      lock_path_(out_dir.empty() ? "" : (std::filesystem::path(out_dir) / kLockFile).string()) {
  if (out_dir.empty()) {
    check_run_directory(out_dir, start);
    return;
  }
  // What the directory holds is checked once the lock is held, so that a second run into a busy
  // directory is told so rather than what the first run has written so far.
  require_directory_or_nothing(out_dir);
  if (start == RunStart::resume) ram::checkpoint_to_resume(out_dir);
  std::filesystem::create_directories(out_dir);
  // A finishing run removes the lock file while holding the lock; a run that opened the old file
  // just before may then lock that unlinked file, so the lock counts only if the path still
  // names the file that was locked.
  for (;;) {
    fd_ = ::open(lock_path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0)
      throw Error(lock_path_ + ": cannot open the run's lock file (" + errno_text() + ")");
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      const bool busy = errno == EWOULDBLOCK;
      char holder[32] = {};
      const ssize_t got = ::pread(fd_, holder, sizeof holder - 1, 0);
      const std::string pid = got > 0 ? std::string(holder, static_cast<std::size_t>(got)) : "?";
      ::close(fd_);
      if (busy)
        throw Error(out_dir + ": another training run (pid " + pid +
                    ") is writing into this directory");
      throw Error(lock_path_ + ": cannot lock (" + errno_text() + ")");
    }
    struct stat held {};
    struct stat named {};
    if (::fstat(fd_, &held) == 0 && ::stat(lock_path_.c_str(), &named) == 0 &&
        held.st_dev == named.st_dev && held.st_ino == named.st_ino)
      break;
    ::close(fd_);
  }
  // The pid only improves the message a second run prints: a failed write is harmless.
  const std::string pid = std::to_string(::getpid());
  [[maybe_unused]] const int truncated = ::ftruncate(fd_, 0);
  [[maybe_unused]] const ssize_t written = ::pwrite(fd_, pid.data(), pid.size(), 0);
  try {
    remove_stale_temporaries(out_dir);
    check_run_directory(out_dir, start);
    if (start == RunStart::resume) resumed_ = load_checkpoint(checkpoint_path_);
  } catch (...) {
    ::unlink(lock_path_.c_str());
    ::close(fd_);
    throw;
  }
}

RunDirectory::RunDirectory(const std::string& out_dir, RunStart start, const Processes& processes)
    : RunDirectory(processes.is_root() ? out_dir : std::string(),
                   processes.is_root() ? start : RunStart::fresh) {
  if (!processes.distributed() || start != RunStart::resume) return;
  std::vector<std::uint8_t> bytes;
  if (processes.is_root()) bytes = checkpoint_bytes(*resumed_);
  processes.broadcast(bytes);
  if (processes.is_root()) return;
  start_ = start;
  resumed_ = checkpoint_from_bytes(
      bytes, "rank 0's " + (std::filesystem::path(out_dir) / kCheckpointFile).string());
}

RunDirectory::~RunDirectory() {
  if (fd_ < 0) return;
  ::unlink(lock_path_.c_str());  // while still holding the lock, so no other run has taken it
  ::close(fd_);
}

void RunDirectory::begin_run() const {
  if (start_ == RunStart::resume || out_dir_.empty()) return;
  const std::filesystem::path dir(out_dir_);
  if (start_ == RunStart::overwrite)
    for (const char* file : {kCheckpointFile, kModelFile, kMetricsFile, kEvalFile, kRunInfoFile})
      std::filesystem::remove(dir / file);
  if (start_record_.empty()) return;
  write_file_atomically(dir / kRunInfoFile, start_record_ + "\n", "the run's start record");
}

}  // namespace ram
