#include "ram/experiments/presets.h"

#include "ram/util/error.h"

namespace ram {

namespace {

// Epochs per task family: what two threads of a 2-core AMD EPYC with AVX-512 trained in about 57
// minutes with the recipe below (measured on 2026-12-04 at 11.5 s per epoch on 28x28 with 6
// glimpses, 16.3 s on translated 60x60, 15.6 s on cluttered 60x60 and 17.0 s on cluttered
// 100x100, 8 glimpses; docs/accuracy.md, section 3). The step is faster since, but the longer
// schedules the hour now holds did no better on 28x28 and translated (section 5 there), so the
// rows take less than their hour.
constexpr int kCentredEpochs = 290;
constexpr int kTranslatedEpochs = 210;
constexpr int kCluttered60Epochs = 210;
constexpr int kCluttered100Epochs = 200;

// The glimpse network's "what" layer h_g on 60x60 (translated and cluttered): twice the paper's
// 128.
constexpr int kWideGlimpseHidden = 256;

// The location policy's std on 28x28, in units of the half-width: 2.1 pixels, where the other
// tasks keep the Torch reproduction's 0.22.
constexpr double kCentredStd = 0.15;

// The recipe that beat the paper's model on the validation split (docs/accuracy.md): an LSTM core,
// whose bounded state keeps the baseline and the policy stable, and REINFORCE reaching the core
// at weight 1/8 with the gradient's norm clipped at 5. The paper's model stays one set of flags
// away: --core relu --reinforce-trains-core=false --reinforce-weight 1 --clip 0.
TrainingConfig make(TaskKind kind, int canvas, int clutter, int glimpse_size, int scales,
                    int glimpses, int epochs) {
  TrainingConfig c;
  c.model.core = "lstm";
  c.model.reinforce_trains_core = true;
  c.loss.reinforce = 0.125;
  c.optimizer.clip_norm = 5;
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

// The preset with the wide "what" layer, which its description names.
Preset with_wide_reader(Preset p) {
  p.config.model.glimpse_hidden = kWideGlimpseHidden;
  p.description += ", h_g " + std::to_string(kWideGlimpseHidden);
  return p;
}

std::vector<Preset> build() {
  std::vector<Preset> list;
  // On 28x28 a narrower policy places six 8x8 glimpses better for the mean-location evaluation:
  // 0.57 points lower validation error over two seeds at 50 epochs, and 0.26 at the full budget;
  // every other row of table 1a gained with it too, most with 2 and 3 glimpses (docs/accuracy.md,
  // section 7).
  for (int g = 2; g <= 7; ++g) {
    TrainingConfig centred = make(TaskKind::centred, 28, 0, 8, 1, g, kCentredEpochs);
    centred.model.location_std = kCentredStd;
    list.push_back({"mnist28-" + std::to_string(g) + "g",
                    "28x28 centred MNIST, 8x8 retina, 1 scale, " + std::to_string(g) + " glimpses",
                    centred});
  }
  // On 60x60 a "what" layer twice the paper's reads the digit better: 0.6 points lower validation
  // error over two seeds on cluttered, whose errors are misread digits with clutter on them, not
  // missed ones, and 0.2 on translated at 50 epochs (docs/accuracy.md, section 7).
  for (int g : {4, 6, 8})
    list.push_back(with_wide_reader(
        {"translated60-" + std::to_string(g) + "g",
         "60x60 translated MNIST, 12x12 retina, 3 scales, " + std::to_string(g) + " glimpses",
         make(TaskKind::translated, 60, 0, 12, 3, g, kTranslatedEpochs)}));
  for (int g : {4, 6, 8})
    list.push_back(
        with_wide_reader({"cluttered60-" + std::to_string(g) + "g",
                          "60x60 cluttered MNIST (4 pieces), 12x12 retina, 3 scales, " +
                              std::to_string(g) + " glimpses",
                          make(TaskKind::cluttered, 60, 4, 12, 3, g, kCluttered60Epochs)}));
  for (int g : {4, 6, 8})
    list.push_back({"cluttered100-" + std::to_string(g) + "g",
                    "100x100 cluttered MNIST (8 pieces), 12x12 retina, 4 scales, " +
                        std::to_string(g) + " glimpses",
                    make(TaskKind::cluttered, 100, 8, 12, 4, g, kCluttered100Epochs)});
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
