#include <cstdio>
#include <memory>
#include <string>

#include "commands.h"
#include "ram/experiments/presets.h"

namespace ram::cli {

namespace {

void print_table() {
  std::printf("%-16s %-10s %-7s %-7s %-12s %-8s %-5s %-6s %-7s %s\n", "preset", "task", "canvas",
              "clutter", "retina", "glimpses", "core", "std", "epochs", "parameters");
  for (const Preset& p : presets()) {
    const TrainingConfig& c = p.config;
    const std::string retina = std::to_string(c.model.retina.glimpse_size) + "x" +
                               std::to_string(c.model.retina.glimpse_size) + "x" +
                               std::to_string(c.model.retina.scales);
    std::printf("%-16s %-10s %-7d %-7d %-12s %-8d %-5s %-6.2f %-7d %zu\n", p.name.c_str(),
                to_string(c.task.kind).c_str(), c.task.canvas, c.task.clutter_pieces,
                retina.c_str(), c.model.glimpses, c.model.core.c_str(), c.model.location_std,
                c.epochs, parameter_count(c));
  }
  const TrainingConfig& c = presets().front().config;
  std::printf(
      "\nAll presets: adam lr %g annealed linearly to %g, batch %d, REINFORCE weight %g%s, "
      "gradient norm clipped at %g, data %s.\n`ram train` without --preset uses %s; `ram presets "
      "NAME` prints a preset's whole configuration.\n",
      c.optimizer.learning_rate, c.optimizer.final_learning_rate, c.batch_size, c.loss.reinforce,
      c.model.reinforce_trains_core ? " (reaching the core)" : "", c.optimizer.clip_norm,
      c.data.c_str(), kDefaultPreset);
}

}  // namespace

void add_presets_command(CLI::App& app, Reach reach) {
  auto* cmd = app.add_subcommand(
      "presets", "List the presets (the paper's tasks with our recipe), or show one in full");
  auto name = std::make_shared<std::string>();
  cmd->add_option("NAME", *name, "A preset: print its whole configuration (JSON)");
  cmd->callback([name, reach] {
    const Preset* preset = name->empty() ? nullptr : &find_preset(*name);
    if (reach == Reach::settings) return;
    if (preset == nullptr)
      print_table();
    else
      std::printf("%s: %s\n%s\n", preset->name.c_str(), preset->description.c_str(),
                  to_json(preset->config).dump(2).c_str());
  });
}

}  // namespace ram::cli
