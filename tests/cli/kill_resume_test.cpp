// Crash safety of `ram train`: the process is killed with SIGKILL at random moments (some land
// while a checkpoint is being written), resumed each time, and must end with exactly the
// parameters of a run that was never interrupted. After every kill the latest checkpoint must
// load, and it must hold at least the last checkpoint the process announced, so no more than
// one checkpoint interval of work is ever lost.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "ram/env/idx.h"
#include "ram/run/checkpoint.h"
#include "ram/train/train.h"
#include "support/test_support.h"

extern char** environ;

namespace fs = std::filesystem;

namespace {

using ram::test::TempDir;

constexpr std::uint64_t kCheckpointEvery = 7;

// 1,500 random 28x28 digits as an IDX directory: 1,350 for training, 150 for validation.
void write_random_digits(const std::string& dir) {
  std::mt19937 gen(99);
  std::uniform_real_distribution<float> pixel(0.0f, 1.0f);
  ram::ImageSet set;
  set.rows = set.cols = 28;
  const std::size_t n = 1500;
  set.pixels.resize(n * set.image_size());
  for (float& p : set.pixels) p = pixel(gen);
  for (std::size_t i = 0; i < n; ++i) set.labels.push_back(static_cast<std::uint8_t>(i % 10));
  fs::create_directories(dir);
  ram::write_idx(dir + "/train-images-idx3-ubyte", dir + "/train-labels-idx1-ubyte", set, false);
}

// A resumed run is given only what the program prints after Ctrl-C: --out and --resume (it keeps
// every setting the run started with, the thread count included).
std::vector<std::string> train_args(const std::string& data, const std::string& out, bool resume) {
  if (resume) return {RAM_CLI_PATH, "train", "--out", out, "--resume", "--quiet"};
  std::vector<std::string> args = {RAM_CLI_PATH,
                                   "train",
                                   "--preset",
                                   "translated60-4g",
                                   "--data",
                                   data,
                                   "--out",
                                   out,
                                   "--epochs",
                                   "3",
                                   "--batch",
                                   "10",
                                   "--canvas",
                                   "40",
                                   "--glimpse-size",
                                   "6",
                                   "--scales",
                                   "2",
                                   "--core-size",
                                   "32",
                                   "--glimpse-hidden",
                                   "16",
                                   "--location-hidden",
                                   "16",
                                   "--glimpse-features",
                                   "32",
                                   "--threads",
                                   "2",
                                   "--seed",
                                   "4",
                                   "--checkpoint-every",
                                   std::to_string(kCheckpointEvery),
                                   "--quiet"};
  return args;
}

pid_t spawn(const std::vector<std::string>& args, const std::string& log) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  EXPECT_EQ(rc, 0) << std::strerror(rc);
  return pid;
}

// Waits up to `limit` for the child; returns its wait status, or -1 if it is still running.
int wait_for(pid_t pid, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (true) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) return status;
    if (std::chrono::steady_clock::now() >= deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The steps of the "checkpoint: step N" lines the run printed, in order.
std::vector<std::uint64_t> announced_steps(const std::string& log) {
  std::vector<std::uint64_t> steps;
  std::istringstream in(read_text(log));
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("checkpoint: step ", 0) == 0) steps.push_back(std::stoull(line.substr(17)));
  }
  return steps;
}

// Waits until the child has announced a checkpoint in its log, or has ended, or `limit` has
// passed; returns its wait status if it ended, else -1.
int wait_for_checkpoint(pid_t pid, const std::string& log, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (true) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) return status;
    if (!announced_steps(log).empty() || std::chrono::steady_clock::now() >= deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

std::vector<float> parameters_of(const std::string& path) {
  return ram::load_model(path).parameters;
}

TEST(KillAndResume, SigkillAtRandomMomentsLosesAtMostOneIntervalAndEndsBitIdentical) {
  TempDir dir;
  const std::string data = dir.sub("digits");
  write_random_digits(data);

  // The uninterrupted run.
  const std::string reference = dir.sub("reference");
  const auto ref_start = std::chrono::steady_clock::now();
  const pid_t ref_pid = spawn(train_args(data, reference, false), dir.sub("reference.log"));
  const int ref_status = wait_for(ref_pid, std::chrono::minutes(5));
  const auto ref_duration = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - ref_start);
  ASSERT_TRUE(ref_status != -1 && WIFEXITED(ref_status) && WEXITSTATUS(ref_status) == 0)
      << read_text(dir.sub("reference.log"));
  const std::vector<float> expected = parameters_of(reference + "/model.ram");
  const auto ref_steps = announced_steps(dir.sub("reference.log"));
  ASSERT_FALSE(ref_steps.empty());

  // The same run, killed again and again: every fourth attempt after a random share of the
  // reference run's duration (start-up or early training), the others at a random moment up to
  // one and a half checkpoint intervals after their first checkpoint (so the test adapts to a
  // slow machine or a sanitizer build); the moments come from a fixed seed. Some kills land in a
  // checkpoint write; after 15 kills the run is left to finish.
  const std::string out = dir.sub("killed");
  std::mt19937 gen(2026);
  std::uniform_real_distribution<double> share(0.01, 0.12);
  // Time between two checkpoints of the reference run; most kills land within one and a half of
  // these after an attempt's first checkpoint, so every such attempt makes progress and the next
  // one resumes. (Timing kills from the start alone failed on a fast machine: start-up took
  // most of the 1-12% windows and no attempt ever reached a checkpoint, so nothing resumed.)
  const double interval_ms =
      static_cast<double>(ref_duration.count()) / static_cast<double>(ref_steps.size());
  std::uniform_real_distribution<double> intervals(0.0, 1.5);
  int kills = 0, kills_with_temporary_files = 0, resumed_attempts = 0;
  std::uint64_t last_on_disk = 0;
  bool finished = false;
  for (int attempt = 0; attempt < 40 && !finished; ++attempt) {
    const bool resume = fs::exists(out + "/" + ram::kCheckpointFile);
    resumed_attempts += resume ? 1 : 0;
    const std::string log = dir.sub("attempt-" + std::to_string(attempt) + ".log");
    const pid_t pid = spawn(train_args(data, out, resume), log);
    int status = -1;
    if (kills >= 15) {
      status = wait_for(pid, std::chrono::minutes(5));  // left to finish
    } else if (attempt % 4 == 0) {
      // In start-up or early training, timed from the start.
      status = wait_for(pid, std::chrono::milliseconds(static_cast<long>(
                                 share(gen) * static_cast<double>(ref_duration.count()))));
    } else {
      status = wait_for_checkpoint(pid, log, std::chrono::minutes(5));
      if (status == -1)
        status = wait_for(
            pid, std::chrono::milliseconds(static_cast<long>(intervals(gen) * interval_ms)));
    }
    if (status == -1) {
      kill(pid, SIGKILL);
      status = wait_for(pid, std::chrono::seconds(30));
      ASSERT_NE(status, -1);
      ASSERT_TRUE(WIFSIGNALED(status)) << read_text(log);
      ++kills;
    } else {
      ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << read_text(log);
      finished = true;
    }
    if (!fs::exists(out)) continue;  // killed before it made its directory
    for (const auto& entry : fs::directory_iterator(out)) {
      if (entry.path().filename().string().find(".tmp") != std::string::npos) {
        ++kills_with_temporary_files;
        break;
      }
    }
    const std::string checkpoint = out + "/" + ram::kCheckpointFile;
    if (!fs::exists(checkpoint)) continue;  // killed before the first checkpoint
    ram::SavedModel saved;
    ASSERT_NO_THROW(saved = ram::load_model(checkpoint)) << "after attempt " << attempt;
    EXPECT_GE(saved.step, last_on_disk) << "the checkpoint went back in time";
    const auto announced = announced_steps(log);
    if (!announced.empty()) {
      EXPECT_GE(saved.step, announced.back()) << "an announced checkpoint was lost";
    }
    for (std::size_t i = 1; i < announced.size(); ++i) {
      // Checkpoints are at most one interval apart (epoch ends add more, never fewer).
      EXPECT_LE(announced[i] - announced[i - 1], kCheckpointEvery);
    }
    last_on_disk = saved.step;
  }
  ASSERT_TRUE(finished) << "the run never finished";
  EXPECT_GE(kills, 10);
  // The test is about resuming: most attempts must start from a checkpoint of an earlier one.
  EXPECT_GE(resumed_attempts, 5);
  RecordProperty("kills", kills);
  RecordProperty("kills_that_left_a_temporary_file", kills_with_temporary_files);
  std::printf(
      "reference run %lld ms; %d kills, %d left a temporary file behind; %d attempts resumed\n",
      static_cast<long long>(ref_duration.count()), kills, kills_with_temporary_files,
      resumed_attempts);

  const std::vector<float> actual = parameters_of(out + "/model.ram");
  ASSERT_EQ(actual.size(), expected.size());
  EXPECT_EQ(std::memcmp(actual.data(), expected.data(), actual.size() * sizeof(float)), 0)
      << "the resumed run ended with different parameters";
  for (const auto& entry : fs::directory_iterator(out))
    EXPECT_EQ(entry.path().filename().string().find(".tmp"), std::string::npos) << entry.path();
}

}  // namespace
