#include "ram/presets.h"

#include "ram/error.h"

namespace ram {

namespace {

TrainingConfig make(TaskKind kind, int canvas, int clutter, int glimpse_size, int scales,
                    int glimpses, int epochs) {
  TrainingConfig c;
  c.task.kind = kind;
  c.task.canvas = canvas;
  c.task.clutter_pieces = clutter;
  c.model.image_height = c.model.image_width = canvas;
  c.model.retina.glimpse_size = glimpse_size;
  c.model.retina.scales = scales;
  c.model.glimpses = glimpses;
  c.epochs = epochs;
  return c;
}

std::vector<Preset> build() {
  std::vector<Preset> list;
  for (int g = 2; g <= 7; ++g)
    list.push_back({"mnist28-" + std::to_string(g) + "g",
                    "28x28 centred MNIST, 8x8 retina, 1 scale, " + std::to_string(g) + " glimpses",
                    make(TaskKind::centred, 28, 0, 8, 1, g, 200)});
  for (int g : {4, 6, 8})
    list.push_back(
        {"translated60-" + std::to_string(g) + "g",
         "60x60 translated MNIST, 12x12 retina, 3 scales, " + std::to_string(g) + " glimpses",
         make(TaskKind::translated, 60, 0, 12, 3, g, 150)});
  for (int g : {4, 6, 8})
    list.push_back({"cluttered60-" + std::to_string(g) + "g",
                    "60x60 cluttered MNIST (4 pieces), 12x12 retina, 3 scales, " +
                        std::to_string(g) + " glimpses",
                    make(TaskKind::cluttered, 60, 4, 12, 3, g, 60)});
  for (int g : {4, 6, 8})
    list.push_back({"cluttered100-" + std::to_string(g) + "g",
                    "100x100 cluttered MNIST (8 pieces), 12x12 retina, 4 scales, " +
                        std::to_string(g) + " glimpses",
                    make(TaskKind::cluttered, 100, 8, 12, 4, g, 60)});
  return list;
}

}  // namespace

const std::vector<Preset>& presets() {
  static const std::vector<Preset> list = build();
  return list;
}

const Preset& find_preset(const std::string& name) {
  std::string known;
  for (const Preset& p : presets()) {
    if (p.name == name) return p;
    known += (known.empty() ? "" : ", ") + p.name;
  }
  throw Error("unknown preset '" + name + "' (known: " + known + ")");
}

}  // namespace ram
