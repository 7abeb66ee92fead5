// The presets: each row's task, and the recipe they share (docs/accuracy.md, section 3).
#include "ram/experiments/presets.h"

#include <gtest/gtest.h>

#include <string>

#include "ram/util/error.h"

namespace {

TEST(Presets, EveryPresetIsTheRecipeOnItsTask) {
  int wide = 0;
  for (const ram::Preset& p : ram::presets()) {
    SCOPED_TRACE(p.name);
    const ram::TrainingConfig& c = p.config;
    EXPECT_EQ(c.architecture, "ram");
    EXPECT_EQ(c.model.core, "lstm");
    EXPECT_TRUE(c.model.reinforce_trains_core);
    EXPECT_EQ(c.loss.reinforce, 0.125);
    EXPECT_EQ(c.optimizer.clip_norm, 5);
    EXPECT_EQ(c.model.image_height, c.task.canvas);
    EXPECT_EQ(c.model.image_width, c.task.canvas);
    // The glimpse count is the name's.
    EXPECT_EQ(p.name.substr(p.name.find('-') + 1), std::to_string(c.model.glimpses) + "g");
    // Translated and cluttered 60x60 read their glimpses with a "what" layer twice the paper's;
    // the others keep the paper's glimpse network.
    const bool is_60x60 = p.name.starts_with("cluttered60-") || p.name.starts_with("translated60-");
    wide += is_60x60;
    EXPECT_EQ(c.model.glimpse_hidden, is_60x60 ? 256 : 128);
    EXPECT_EQ(c.model.location_hidden, 128);
    EXPECT_EQ(c.model.glimpse_features, 256);
    EXPECT_EQ(c.model.core_size, 256);
    // 28x28 explores with a narrower policy than the larger canvases.
    EXPECT_EQ(c.model.location_std, p.name.starts_with("mnist28-") ? 0.15 : 0.22);
  }
  EXPECT_EQ(wide, 6);
}

TEST(Presets, TasksAreThePapers) {
  const ram::TrainingConfig& m = ram::find_preset("mnist28-6g").config;
  EXPECT_EQ(m.task.kind, ram::TaskKind::centred);
  EXPECT_EQ(m.model.retina.glimpse_size, 8);
  EXPECT_EQ(m.model.retina.scales, 1);
  const ram::TrainingConfig& t = ram::find_preset("translated60-8g").config;
  EXPECT_EQ(t.task.kind, ram::TaskKind::translated);
  EXPECT_EQ(t.task.canvas, 60);
  const ram::TrainingConfig& c60 = ram::find_preset("cluttered60-4g").config;
  EXPECT_EQ(c60.task.kind, ram::TaskKind::cluttered);
  EXPECT_EQ(c60.task.clutter_pieces, 4);
  EXPECT_EQ(c60.model.retina.scales, 3);
  const ram::TrainingConfig& c100 = ram::find_preset("cluttered100-8g").config;
  EXPECT_EQ(c100.task.canvas, 100);
  EXPECT_EQ(c100.task.clutter_pieces, 8);
  EXPECT_EQ(c100.model.retina.scales, 4);
}

TEST(Presets, AnUnknownNameListsTheKnownOnes) {
  try {
    ram::find_preset("cluttered60");
    FAIL() << "no error";
  } catch (const ram::Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("unknown preset 'cluttered60'"), std::string::npos) << what;
    EXPECT_NE(what.find("cluttered60-8g"), std::string::npos) << what;
  }
}

}  // namespace
