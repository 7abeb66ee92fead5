// What a run directory promises, held by both trainers (classification and Catch) with one
// typed test each: one run at a time, the temporaries of a killed run removed and no lock left
// behind, a finished run never replaced without --overwrite, a stopped run resumed bit for bit
// from the checkpoint read when its directory was opened, and a missing checkpoint named.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "ram/train/catch_train.h"
#include "ram/train/train.h"
#include "support/test_support.h"
#include "support/training_support.h"

namespace fs = std::filesystem;

namespace {

using namespace ram::test;  // the trainer tests' fixtures (support/training_support.h)

// Each trainer seen through one interface: a small run, stopped on request after `stop_after`
// optimiser steps (0: never).
struct Classifier {
  ram::TrainValidation data = tiny_data();
  ram::TrainingConfig config(std::uint64_t seed) const {
    ram::TrainingConfig c = tiny_training_config();
    c.epochs = 2;
    c.seed = seed;
    return c;
  }
  static ram::TrainCallbacks stopping(std::uint64_t stop_after, std::uint64_t& steps) {
    ram::TrainCallbacks callbacks;
    callbacks.batch_done = [&steps](const ram::Progress&) { ++steps; };
    callbacks.stop_requested = [&steps, stop_after] {
      return stop_after > 0 && steps == stop_after;
    };
    return callbacks;
  }
  std::vector<float> train(const ram::TrainingConfig& c, const std::string& out,
                           ram::RunStart start, std::uint64_t stop_after = 0) const {
    std::uint64_t steps = 0;
    return ram::train(c, data, out, start, stopping(stop_after, steps)).parameters;
  }
  // Resumes with the settings and position of the checkpoint `directory` read when opened.
  std::vector<float> resume(const ram::RunDirectory& directory) const {
    const ram::SavedModel saved =
        ram::saved_model(*directory.resumed(), directory.checkpoint_path());
    return ram::train(ram::resumed_config(saved, {}), data, directory).parameters;
  }
  static std::uint64_t saved_seed(const std::string& model_path) {
    return ram::load_model(model_path).config.seed;
  }
};

struct Catch {
  ram::CatchTrainingConfig config(std::uint64_t seed) const {
    ram::CatchTrainingConfig c = tiny_catch_config(1);
    c.seed = seed;
    return c;
  }
  std::vector<float> train(const ram::CatchTrainingConfig& c, const std::string& out,
                           ram::RunStart start, std::uint64_t stop_after = 0) const {
    std::uint64_t updates = 0;
    ram::CatchTrainCallbacks callbacks;
    callbacks.stop_requested = [&] { return stop_after > 0 && ++updates == stop_after; };
    return ram::train_catch(c, out, start, callbacks).parameters;
  }
  std::vector<float> resume(const ram::RunDirectory& directory) const {
    const ram::SavedCatchAgent saved =
        ram::saved_catch_agent(*directory.resumed(), directory.checkpoint_path());
    return ram::train_catch(ram::resumed_catch_config(saved, {}), directory).parameters;
  }
  static std::uint64_t saved_seed(const std::string& model_path) {
    return ram::load_catch_agent(model_path).config.seed;
  }
};

template <typename Trainer>
class RunDirectoryOfEachTrainer : public ::testing::Test {
 protected:
  Trainer trainer;
  TempDir dir;
  const decltype(trainer.config(2)) config = trainer.config(2);
  const std::string stopped = dir.sub("stopped");

  // Trains `config` to the end in a directory of its own, and again into `stopped`, stopped
  // after 3 optimiser steps; returns the parameters of the whole run.
  std::vector<float> whole_and_stopped_runs() {
    const std::vector<float> whole = trainer.train(config, dir.sub("whole"), ram::RunStart::fresh);
    trainer.train(config, stopped, ram::RunStart::fresh, /*stop_after=*/3);
    return whole;
  }
};

using Trainers = ::testing::Types<Classifier, Catch>;
TYPED_TEST_SUITE(RunDirectoryOfEachTrainer, Trainers);

TYPED_TEST(RunDirectoryOfEachTrainer, TakesOneRunAtATime) {
  const std::string out = this->dir.sub("run");
  {
    const ram::RunDirectory held(out, ram::RunStart::fresh);
    expect_error([&] { this->trainer.train(this->trainer.config(1), out, ram::RunStart::fresh); },
                 {out, "another training run"});
  }
  // Released with the directory that held it.
  EXPECT_NO_THROW(this->trainer.train(this->trainer.config(1), out, ram::RunStart::fresh));
}

TYPED_TEST(RunDirectoryOfEachTrainer, RemovesAKilledRunsTemporariesAndLeavesNoLock) {
  const std::string out = this->dir.sub("run");
  fs::create_directories(out);
  for (const char* name : {"checkpoint.ram.tmp.4242", "model.ram.tmp.17", "metrics.csv.tmp"})
    std::ofstream(fs::path(out) / name) << "half-written";
  std::ofstream(fs::path(out) / "notes.txt") << "the user's";
  this->trainer.train(this->trainer.config(1), out, ram::RunStart::fresh);
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(out))
    names.push_back(entry.path().filename().string());
  std::ranges::sort(names);
  EXPECT_EQ(names,
            (std::vector<std::string>{"checkpoint.ram", "metrics.csv", "model.ram", "notes.txt"}));
}

TYPED_TEST(RunDirectoryOfEachTrainer, ReplacesARunOnlyWhenToldToOverwrite) {
  const std::string out = this->dir.sub("run");
  const std::vector<float> first =
      this->trainer.train(this->trainer.config(1), out, ram::RunStart::fresh);
  const std::string model = file_in(out, ram::kModelFile);
  const std::string model_bytes = read_text(model);
  expect_error([&] { this->trainer.train(this->trainer.config(1), out, ram::RunStart::fresh); },
               {out, "holds a finished run", "--resume", "--overwrite"});
  EXPECT_EQ(read_text(model), model_bytes);
  fs::remove(model);
  expect_error([&] { this->trainer.train(this->trainer.config(1), out, ram::RunStart::fresh); },
               {out, "holds an unfinished run"});

  const std::vector<float> replaced =
      this->trainer.train(this->trainer.config(4), out, ram::RunStart::overwrite);
  EXPECT_FALSE(same_bits(first, replaced));
  EXPECT_EQ(TypeParam::saved_seed(model), 4u);
}

TYPED_TEST(RunDirectoryOfEachTrainer, ResumesAStoppedRunBitIdentically) {
  const std::vector<float> whole = this->whole_and_stopped_runs();
  EXPECT_FALSE(fs::exists(file_in(this->stopped, ram::kModelFile)));
  EXPECT_TRUE(
      same_bits(this->trainer.train(this->config, this->stopped, ram::RunStart::resume), whole));
}

// The checkpoint is read once, when the directory is opened: the settings taken from it and the
// position training continues from are the same file's, even if the file changes in between
// (here it is destroyed).
TYPED_TEST(RunDirectoryOfEachTrainer, ResumesFromTheCheckpointReadWhenTheDirectoryWasOpened) {
  const std::vector<float> whole = this->whole_and_stopped_runs();
  const ram::RunDirectory directory(this->stopped, ram::RunStart::resume);
  ASSERT_TRUE(directory.resumed().has_value());
  std::ofstream(directory.checkpoint_path(), std::ios::trunc) << "not a checkpoint";
  EXPECT_TRUE(same_bits(this->trainer.resume(directory), whole));
}

TYPED_TEST(RunDirectoryOfEachTrainer, ResumeWithoutACheckpointNamesThePath) {
  expect_error([&] { this->trainer.train(this->config, this->dir.str(), ram::RunStart::resume); },
               {file_in(this->dir.str(), ram::kCheckpointFile)});
  const std::string missing = this->dir.sub("does-not-exist");
  expect_error([&] { this->trainer.train(this->config, missing, ram::RunStart::resume); },
               {missing});
}

}  // namespace
