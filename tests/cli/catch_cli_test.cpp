// ram catch train|eval|play from the command line: outputs, files, and one-line errors.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

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

TEST(CatchCli, ErrorsAreOneLine) {
  TempDir dir;
  { std::ofstream(dir.sub("junk.ram")) << "junk"; }
  for (const std::string& args : std::initializer_list<std::string>{
           "eval '" + dir.sub("junk.ram") + "'", "eval '" + dir.sub("none.ram") + "'",
           "play '" + dir.sub("junk.ram") + "' --out x.gif", "train --frames 10",
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
