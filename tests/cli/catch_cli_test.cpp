// ram catch train|eval|play from the command line: outputs, files, and one-line errors.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <set>
#include <string>

#include "ram/train/catch_train.h"
#include "support/cli_support.h"
#include "support/test_support.h"

namespace {

using ram::test::CliRun;
using ram::test::contains;
using ram::test::run_ram;
using ram::test::TempDir;

// `ram catch args` with stdout and stderr captured together.
CliRun ram_catch(const std::string& args, const TempDir& dir) {
  return run_ram("catch " + args, dir.str());
}

TEST(CatchCli, TrainEvalPlay) {
  TempDir dir;
  const std::string run = dir.sub("run");
  const CliRun train =
      ram_catch("train --out '" + run + "' --frames 2000 --batch 8 --core-size 16 --quiet", dir);
  ASSERT_EQ(train.code, 0) << train.output;
  EXPECT_TRUE(contains(train.output, "agent saved to")) << train.output;
  EXPECT_TRUE(std::filesystem::exists(run + "/model.ram"));
  EXPECT_TRUE(std::filesystem::exists(run + "/metrics.csv"));
  EXPECT_TRUE(contains(train.output, "learning curve in")) << train.output;
  EXPECT_FALSE(contains(train.output, "warning")) << train.output;
  EXPECT_GT(std::filesystem::file_size(run + "/curves.png"), 1000u);

  const CliRun eval = ram_catch("eval '" + run + "/model.ram' --episodes 200", dir);
  ASSERT_EQ(eval.code, 0) << eval.output;
  EXPECT_EQ(eval.output.rfind("catch rate: ", 0), 0u) << eval.output;
  EXPECT_TRUE(contains(eval.output, "random agent")) << eval.output;
  EXPECT_TRUE(contains(eval.output, "full-frame agent")) << eval.output;
  EXPECT_TRUE(contains(eval.output, "100.0%")) << "the tracker catches every ball";

  const std::string gif = dir.sub("game.gif"), png = dir.sub("frame.png");
  const CliRun play = ram_catch("play '" + run + "/model.ram' --out '" + gif +
                                    "' --episodes 2 --scale 4 --frame-png '" + png + "'",
                                dir);
  ASSERT_EQ(play.code, 0) << play.output;
  EXPECT_GT(std::filesystem::file_size(gif), 100u);
  EXPECT_GT(std::filesystem::file_size(png), 50u);
  EXPECT_TRUE(contains(play.output, "2 episodes")) << play.output;
}

// Every setting flag of `ram catch train`, each given a value other than its default, lands in
// the configuration of the model file; a flag that --help lists but this test does not give fails
// it, so a new flag cannot go untested.
TEST(CatchCli, EveryTrainFlagReachesTheConfiguration) {
  TempDir dir;
  ram::CatchTrainingConfig expected;
  expected.frames = 480;
  expected.report_every = 1;
  expected.threads = 1;
  expected.seed = 7;
  expected.agent.core = "relu";
  expected.agent.core_size = 9;
  expected.agent.glimpse_hidden = 5;
  expected.agent.location_hidden = 6;
  expected.agent.glimpse_features = 7;
  expected.init_range = 0.2;
  expected.batch_size = 10;
  expected.optimizer.kind = "sgd";
  expected.optimizer.learning_rate = 0.02;
  expected.optimizer.final_learning_rate = 0.001;
  expected.optimizer.momentum = 0.8;
  expected.optimizer.clip_norm = 3;
  expected.agent.location_std = 0.15;
  expected.initial_std = 0.4;
  expected.std_anneal_frames = 300;
  expected.agent.location_trains_core = true;
  expected.loss.entropy = 0.03;
  expected.loss.discount = 0.9;
  expected.loss.reinforce = 0.7;
  expected.loss.baseline = 0.6;
  const std::string settings =
      "--frames 480 --report-every 1 --threads 1 --seed 7 --core relu --core-size 9 "
      "--glimpse-hidden 5 --location-hidden 6 --glimpse-features 7 --init-range 0.2 --batch 10 "
      "--optimizer sgd --lr 0.02 --final-lr 0.001 --momentum 0.8 --clip 3 --std 0.15 "
      "--std-start 0.4 --std-anneal-frames 300 "
      "--reinforce-trains-core --entropy 0.03 --discount 0.9 --reinforce-weight 0.7 "
      "--baseline-weight 0.6";
  const std::string run = dir.sub("run");
  const CliRun train = ram_catch("train --out '" + run + "' --quiet " + settings, dir);
  ASSERT_EQ(train.code, 0) << train.output;
  EXPECT_EQ(ram::to_json(ram::load_catch_agent(run + "/model.ram").config), ram::to_json(expected));

  const CliRun help = ram_catch("train --help", dir);
  ASSERT_EQ(help.code, 0) << help.output;
  const std::regex flag("--[a-z-]+");
  std::set<std::string> tested = {"--help", "--out", "--quiet", "--resume", "--overwrite"};
  for (auto it = std::sregex_iterator(settings.begin(), settings.end(), flag);
       it != std::sregex_iterator(); ++it)
    tested.insert(it->str());
  for (auto it = std::sregex_iterator(help.output.begin(), help.output.end(), flag);
       it != std::sregex_iterator(); ++it)
    EXPECT_TRUE(tested.count(it->str())) << it->str() << " is listed by --help but not tested";
}

// A learning rate far too high and no entropy bonus: the action policy turns deterministic within
// 40k frames at the random agent's catch rate (entropy 0.000 from then on), which the progress
// lines say once, with the flag that helps.
TEST(CatchCli, ACollapsedActionPolicyIsSaidOnceWithTheFlagThatHelps) {
  TempDir dir;
  const CliRun train = ram_catch("train --out '" + dir.sub("run") +
                                     "' --quiet --core-size 16 --glimpse-hidden 16 "
                                     "--location-hidden 8 --glimpse-features 16 --lr 0.03 "
                                     "--entropy 0 --batch 16 --frames 1200000 --threads 1",
                                 dir);
  ASSERT_EQ(train.code, 0) << train.output;
  const std::string said = "warning: the action policy looks collapsed";
  const std::size_t at = train.output.find(said);
  ASSERT_NE(at, std::string::npos) << train.output;
  EXPECT_EQ(train.output.find(said, at + 1), std::string::npos) << "said once\n" << train.output;
  EXPECT_TRUE(contains(train.output, "--entropy 0.01, the default")) << train.output;
}

TEST(CatchCli, ErrorsAreOneLine) {
  TempDir dir;
  { std::ofstream(dir.sub("junk.ram")) << "junk"; }
  for (const std::string& args : std::initializer_list<std::string>{
           "eval '" + dir.sub("junk.ram") + "'", "eval '" + dir.sub("none.ram") + "'",
           "play '" + dir.sub("junk.ram") + "' --out x.gif", "train --resume --frames 10",
           "train --out '" + dir.sub("r") + "' --discount 2"}) {
    const CliRun r = ram_catch(args, dir);
    EXPECT_EQ(r.code, 1) << args << "\n" << r.output;
    EXPECT_EQ(r.output.rfind("ram: error: ", 0) == 0 || contains(r.output, "\nram: error: "), true)
        << r.output;
    EXPECT_FALSE(contains(r.output, "terminate")) << r.output;
  }
  const CliRun bad_flag = ram_catch("eval --episodes", dir);
  EXPECT_EQ(bad_flag.code, 2) << bad_flag.output;
}

}  // namespace
