// `mpirun -np N ram train` and `ram catch train`: N processes of T threads must give the
// parameters of one process of N x T threads bit for bit, resume from any process count, and end
// the whole job with a message naming the process when one fails or dies.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "ram/run/checkpoint.h"
#include "ram/run/processes.h"
#include "support/cli_support.h"

namespace fs = std::filesystem;

namespace {

using ram::test::CliRun;
using ram::test::contains;
using ram::test::describe;
using ram::test::quote;
using ram::test::TempDir;

bool mpirun_available() {
  return std::system("command -v mpirun > /dev/null 2>&1") == 0;
}

// mpirun as a test may run it: any number of processes on a 2-core machine, and as root inside
// containers (Open MPI refuses root unless told).
std::string mpirun(int processes) {
  std::string command = "mpirun --oversubscribe -np " + std::to_string(processes);
  if (::geteuid() == 0) command += " --allow-run-as-root";
  return command;
}

// Runs `mpirun -np N ram ARGS` (or `mpirun ... : ...` for a launch with several command lines).
CliRun run_mpi(const std::string& launch, const std::string& scratch) {
  static int counter = 0;
  const std::string out =
      (fs::path(scratch) / ("mpi-output-" + std::to_string(++counter) + ".txt")).string();
  CliRun r;
  r.command = launch;
  const int status = std::system((launch + " > " + quote(out) + " 2>&1 < /dev/null").c_str());
  r.exited = status != -1 && WIFEXITED(status);
  r.code = r.exited ? WEXITSTATUS(status) : -1;
  r.output = ram::test::read_text(out);
  r.lines = ram::test::lines_of(r.output);
  return r;
}

std::string ram_path() {
  return quote(RAM_CLI_PATH);
}

// The end-to-end tests' tiny model, with the epochs left to each test.
std::string tiny_flags() {
  std::string flags = ram::test::kTinyFlags;
  flags.erase(flags.find("--epochs 1 "), std::string("--epochs 1 ").size());
  return flags;
}

// A shell command that starts `launch` in the background, waits for run/checkpoint.ram and then
// SIGKILLs the ram processes of that run whose environment holds `environment_line` (every one
// when empty), then waits for the launch to end.
std::string kill_after_first_checkpoint(const std::string& launch, const std::string& run,
                                        const std::string& environment_line) {
  const std::string match =
      environment_line.empty()
          ? "true"
          : "tr '\\0' '\\n' < /proc/$p/environ 2>/dev/null | grep -qx " + quote(environment_line);
  const std::string script = launch + " & job=$!; for i in $(seq 1200); do [ -f " +
                             quote(run + "/checkpoint.ram") +
                             " ] && break; sleep 0.025; done; for p in $(pgrep -f -- " +
                             quote("^" + std::string(RAM_CLI_PATH) + " train .*--out " + run) +
                             "); do if " + match + "; then kill -9 $p; fi; done; wait $job";
  return "bash -c " + quote(script);
}

// Runs long enough (many steps of 2 images) for a kill to land in the middle.
constexpr int kLongEpochs = 4;

class Distributed : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!ram::built_with_mpi()) GTEST_SKIP() << "built without MPI (-DRAM_MPI=OFF)";
    if (!mpirun_available()) GTEST_SKIP() << "mpirun is not installed";
    ram::test::write_idx_dir(data_, 1400, 50);
  }

  std::string train_flags(const std::string& out, int epochs = 2, int batch = 10) const {
    return "train " + tiny_flags() + " --data " + quote(data_) + " --batch " +
           std::to_string(batch) + " --epochs " + std::to_string(epochs) + " --seed 5 --out " +
           quote(out);
  }

  std::vector<float> parameters(const std::string& run) const {
    return ram::load_checkpoint((fs::path(run) / "model.ram").string()).parameters;
  }

  TempDir dir_;
  const std::string data_ = dir_.sub("data");
};

TEST_F(Distributed, TwoProcessesTrainExactlyAsOneProcessWithTheirThreads) {
  const std::string one = dir_.sub("one"), two = dir_.sub("two"), four = dir_.sub("four");
  const CliRun single = ram::test::run_ram(train_flags(one) + " --threads 2", dir_.path());
  ASSERT_EQ(single.code, 0) << describe(single);
  const CliRun pair =
      run_mpi(mpirun(2) + " " + ram_path() + " " + train_flags(two) + " --threads 1", dir_.path());
  ASSERT_EQ(pair.code, 0) << describe(pair);
  EXPECT_EQ(parameters(two), parameters(one));
  // The metrics (losses, training and validation error) too; the timing columns differ.
  const ram::Checkpoint a = ram::load_checkpoint(one + "/model.ram");
  const ram::Checkpoint b = ram::load_checkpoint(two + "/model.ram");
  const nlohmann::json ma = nlohmann::json::parse(a.progress_json).at("metrics");
  const nlohmann::json mb = nlohmann::json::parse(b.progress_json).at("metrics");
  ASSERT_EQ(ma.size(), 2u);
  ASSERT_EQ(mb.size(), 2u);
  for (const char* field : {"loss", "train_error", "validation_error", "steps"})
    for (std::size_t e = 0; e < 2; ++e) EXPECT_EQ(ma[e].at(field), mb[e].at(field)) << field;
  // The root alone speaks: one header, one line per epoch, one result.
  int headers = 0, epochs = 0;
  for (const std::string& line : pair.lines) {
    headers += line.starts_with("ram train: preset") ? 1 : 0;
    epochs += line.starts_with("epoch ") ? 1 : 0;
  }
  EXPECT_EQ(headers, 1) << pair.output;
  EXPECT_EQ(epochs, 2) << pair.output;
  EXPECT_TRUE(contains(pair.output, "distributed: 2 processes x 1 threads (2 workers)"))
      << pair.output;

  // Two processes of two threads are four workers.
  const CliRun quad =
      run_mpi(mpirun(2) + " " + ram_path() + " " + train_flags(four) + " --threads 2", dir_.path());
  ASSERT_EQ(quad.code, 0) << describe(quad);
  const CliRun single4 =
      ram::test::run_ram(train_flags(dir_.sub("one4")) + " --threads 4", dir_.path());
  ASSERT_EQ(single4.code, 0) << describe(single4);
  EXPECT_EQ(parameters(four), parameters(dir_.sub("one4")));
}

TEST_F(Distributed, EvaluationSharedOutGivesTheOneProcessResult) {
  const std::string run = dir_.sub("evaluated");
  ASSERT_EQ(ram::test::run_ram(train_flags(run, 1) + " --threads 1", dir_.path()).code, 0);
  // 140 validation images: three chunks of evaluation, shared out over the processes.
  for (const char* policy : {"", " --greedy", " --samples 3"}) {
    SCOPED_TRACE(policy);
    const std::string eval = "eval " + quote(run + "/model.ram") + " --json --threads 1" + policy;
    const CliRun one = ram::test::run_ram(eval, dir_.path());
    ASSERT_EQ(one.code, 0) << describe(one);
    const CliRun three = run_mpi(mpirun(3) + " " + ram_path() + " " + eval, dir_.path());
    ASSERT_EQ(three.code, 0) << describe(three);
    const nlohmann::json a = nlohmann::json::parse(one.output);
    const nlohmann::json b = nlohmann::json::parse(three.output);
    EXPECT_EQ(a.at("images"), 140);
    for (const char* field : {"error", "cross_entropy", "confusion", "images"})
      EXPECT_EQ(a.at(field), b.at(field)) << field;
  }
}

TEST_F(Distributed, ReproduceTrainsAndEvaluatesItsRowsAcrossTheProcesses) {
  const std::string one = dir_.sub("reproduce-one"), two = dir_.sub("reproduce-two");
  const std::string flags =
      "reproduce 1a --rows ram-2g --epochs 1 --seed 3 --quiet --data " + quote(data_) + " --out ";
  const CliRun single = ram::test::run_ram(flags + quote(one) + " --threads 2", dir_.path());
  ASSERT_EQ(single.code, 0) << describe(single);
  const CliRun pair = run_mpi(
      mpirun(2) + " " + ram_path() + " " + flags + quote(two) + " --threads 1", dir_.path());
  ASSERT_EQ(pair.code, 0) << describe(pair);
  EXPECT_EQ(parameters(two + "/ram-2g"), parameters(one + "/ram-2g"));
  const nlohmann::json a = nlohmann::json::parse(ram::test::read_text(one + "/table.json"));
  const nlohmann::json b = nlohmann::json::parse(ram::test::read_text(two + "/table.json"));
  ASSERT_EQ(a.at("rows").size(), 1u);
  for (const char* field :
       {"validation_error_percent", "test_error_percent", "test_sampled_error_percent"}) {
    EXPECT_TRUE(a.at("rows")[0].at(field).is_number()) << field;
    EXPECT_EQ(a.at("rows")[0].at(field), b.at("rows")[0].at(field)) << field;
  }
  // A second run reuses the finished row, read by the root.
  const CliRun again = run_mpi(
      mpirun(2) + " " + ram_path() + " " + flags + quote(two) + " --threads 1", dir_.path());
  ASSERT_EQ(again.code, 0) << describe(again);
  const nlohmann::json c = nlohmann::json::parse(ram::test::read_text(two + "/table.json"));
  EXPECT_EQ(c.at("rows")[0].at("validation_error_percent"),
            b.at("rows")[0].at("validation_error_percent"));
}

TEST_F(Distributed, AResumeMayChangeTheProcessCount) {
  const std::string whole = dir_.sub("whole"), parts = dir_.sub("parts");
  ASSERT_EQ(
      ram::test::run_ram(train_flags(whole, kLongEpochs, 2) + " --threads 2", dir_.path()).code, 0);
  // One process of two threads, killed after its first checkpoint; resumed by two processes of
  // one thread: two workers throughout.
  const CliRun killed =
      run_mpi(kill_after_first_checkpoint(ram_path() + " " + train_flags(parts, kLongEpochs, 2) +
                                              " --threads 2 --checkpoint-every 5",
                                          parts, ""),
              dir_.path());
  ASSERT_FALSE(fs::exists(fs::path(parts) / "model.ram")) << describe(killed);
  const CliRun resumed = run_mpi(
      mpirun(2) + " " + ram_path() + " train --out " + quote(parts) + " --resume --threads 1",
      dir_.path());
  ASSERT_EQ(resumed.code, 0) << describe(resumed);
  EXPECT_TRUE(contains(resumed.output, "resumed run of")) << resumed.output;
  EXPECT_EQ(parameters(parts), parameters(whole));
}

TEST_F(Distributed, CatchTwoProcessesPlayExactlyAsOneProcessWithTheirThreads) {
  const std::string flags =
      "catch train --frames 4800 --batch 10 --report-every 5 --core-size 16 --seed 3 --quiet";
  const std::string one = dir_.sub("catch-one"), two = dir_.sub("catch-two");
  const CliRun single = ram::test::run_ram(flags + " --threads 2 --out " + quote(one), dir_.path());
  ASSERT_EQ(single.code, 0) << describe(single);
  const CliRun pair = run_mpi(
      mpirun(2) + " " + ram_path() + " " + flags + " --threads 1 --out " + quote(two), dir_.path());
  ASSERT_EQ(pair.code, 0) << describe(pair);
  EXPECT_EQ(parameters(two), parameters(one));
  EXPECT_EQ(ram::test::read_text(two + "/metrics.csv").size() > 0, true);
}

TEST_F(Distributed, DifferentFlagsOnTheProcessesAreRefusedAtTheStart) {
  const std::string out = dir_.sub("mismatch");
  const CliRun r =
      run_mpi(mpirun(1) + " " + ram_path() + " " + train_flags(out) + " --threads 1 : -np 1 " +
                  ram_path() + " " + train_flags(out) + " --threads 1 --lr 0.002",
              dir_.path());
  EXPECT_NE(r.code, 0) << describe(r);
  EXPECT_TRUE(contains(r.output, "the training configuration of rank 1 differs from rank 0's"))
      << r.output;
  EXPECT_FALSE(fs::exists(fs::path(out) / "model.ram"));
}

TEST_F(Distributed, AProcessThatFailsEndsTheJobNamingItsRank) {
  const std::string out = dir_.sub("bad-data");
  // Rank 1 is given a data directory that does not exist, as if missing on its host.
  const std::string missing = dir_.sub("no-such-data");
  const std::string flags = std::string("train ") + tiny_flags() +
                            " --batch 10 --seed 5 --threads 1 --out " + quote(out) + " --data ";
  const CliRun r = run_mpi(mpirun(1) + " " + ram_path() + " " + flags + quote(data_) + " : -np 1 " +
                               ram_path() + " " + flags + quote(missing),
                           dir_.path());
  EXPECT_NE(r.code, 0) << describe(r);
  EXPECT_TRUE(contains(r.output, "ram: error: rank 1 of 2")) << r.output;
  EXPECT_TRUE(contains(r.output, missing)) << r.output;
  EXPECT_FALSE(fs::exists(fs::path(out) / "model.ram"));
}

TEST_F(Distributed, AKilledProcessEndsTheJobAndLeavesTheLastCheckpointToResume) {
  const std::string run = dir_.sub("killed"), whole = dir_.sub("whole");
  const CliRun r = run_mpi(kill_after_first_checkpoint(mpirun(2) + " " + ram_path() + " " +
                                                           train_flags(run, kLongEpochs, 2) +
                                                           " --threads 1 --checkpoint-every 5",
                                                       run, "OMPI_COMM_WORLD_RANK=1"),
                           dir_.path());
  EXPECT_NE(r.code, 0) << describe(r);
  EXPECT_TRUE(contains(r.output, "rank 1")) << r.output;
  EXPECT_FALSE(fs::exists(fs::path(run) / "model.ram")) << r.output;
  // What was saved loads, and the run resumes from it (here as one process of two threads) to
  // the parameters of a run never interrupted.
  ASSERT_NO_THROW(ram::load_checkpoint(run + "/checkpoint.ram"));
  const CliRun resumed = ram::test::run_ram(
      "train --out " + quote(run) + " --resume --threads 2 --quiet", dir_.path());
  ASSERT_EQ(resumed.code, 0) << describe(resumed);
  ASSERT_EQ(
      ram::test::run_ram(train_flags(whole, kLongEpochs, 2) + " --threads 2", dir_.path()).code, 0);
  EXPECT_EQ(parameters(run), parameters(whole));
}

}  // namespace
