// "Did you mean": the distance and the choice of suggestions.
#include "suggest.h"

#include <gtest/gtest.h>

namespace {

using ram::cli::edit_distance;
using ram::cli::or_list;
using ram::cli::suggestions;

TEST(Suggest, EditDistanceCountsInsertionsDeletionsSubstitutionsAndSwaps) {
  EXPECT_EQ(edit_distance("train", "train"), 0);
  EXPECT_EQ(edit_distance("trian", "train"), 1);  // a swap of neighbours is one edit
  EXPECT_EQ(edit_distance("--epoch", "--epochs"), 1);
  EXPECT_EQ(edit_distance("eval", "evil"), 1);
  EXPECT_EQ(edit_distance("", "info"), 4);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3);
}

TEST(Suggest, TheClosestCandidateWithinReach) {
  const std::vector<std::string> commands = {"train", "eval", "info", "bench", "catch"};
  EXPECT_EQ(suggestions("trian", commands), std::vector<std::string>{"train"});
  EXPECT_EQ(suggestions("evl", commands), std::vector<std::string>{"eval"});
  EXPECT_EQ(suggestions("frobnicate", commands), std::vector<std::string>{});
  EXPECT_EQ(suggestions("catc", commands), std::vector<std::string>{"catch"});
  // Ties go to the candidate listed first: "tain" is one edit from both.
  EXPECT_EQ(suggestions("tain", {"train", "tail"}), std::vector<std::string>{"train"});
}

TEST(Suggest, ACutShortFlagGetsEveryCompletion) {
  const std::vector<std::string> flags = {"--reinforce-weight", "--baseline-weight",
                                          "--reinforce-trains-core", "--epochs"};
  EXPECT_EQ(suggestions("--reinforce", flags),
            (std::vector<std::string>{"--reinforce-weight", "--reinforce-trains-core"}));
  EXPECT_EQ(suggestions("--baseline", flags), std::vector<std::string>{"--baseline-weight"});
}

TEST(Suggest, OrList) {
  EXPECT_EQ(or_list({"a"}), "a");
  EXPECT_EQ(or_list({"a", "b"}), "a or b");
  EXPECT_EQ(or_list({"a", "b", "c"}), "a, b or c");
}

}  // namespace
