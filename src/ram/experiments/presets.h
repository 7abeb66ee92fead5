#pragma once
// The paper's classification tasks by name (NIPS 2014, Tables 1 and 2: retina, glimpse count,
// canvas and clutter), each with our best measured recipe (LSTM core, REINFORCE reaching it,
// gradient clipping) and a training budget of about an hour on two cores.
#include <string>
#include <vector>

#include "ram/train/train.h"

namespace ram {

struct Preset {
  std::string name;
  std::string description;
  TrainingConfig config;
};

// What `ram train` and `ram bench` use when no --preset is given: the paper's headline row of
// Table 1b, 60x60 translated digits with 8 glimpses.
inline constexpr const char* kDefaultPreset = "translated60-8g";

const std::vector<Preset>& presets();
// Throws ram::Error listing the known names.
const Preset& find_preset(const std::string& name);

}  // namespace ram
