#pragma once
// The paper's classification settings by name (NIPS 2014, Tables 1 and 2): retina, glimpse count,
// canvas and clutter, plus a default training budget measured to fit on two cores.
#include <string>
#include <vector>

#include "ram/train.h"

namespace ram {

struct Preset {
  std::string name;
  std::string description;
  TrainingConfig config;
};

const std::vector<Preset>& presets();
// Throws ram::Error listing the known names.
const Preset& find_preset(const std::string& name);

}  // namespace ram
