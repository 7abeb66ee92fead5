#include <cstdio>
#include <memory>

#include "commands.h"
#include "model_argument.h"
#include "ram/train/train.h"

namespace ram::cli {

void add_info_command(CLI::App& app, Reach reach) {
  auto* cmd = app.add_subcommand("info", "Show a model's configuration, parameters and FLOPs");
  auto path = std::make_shared<std::string>();
  cmd->add_option("MODEL", *path, "Model file, or a run directory of ram train")->required();
  cmd->callback([path, reach] {
    if (reach == Reach::settings) return;
    const std::string file = model_file(*path);
    const SavedModel saved = load_model(file);
    const ParamLayout layout = parameter_layout(saved.config);
    std::printf("model: %s\n", file.c_str());
    std::printf("trained: %llu epochs, %llu steps\n", static_cast<unsigned long long>(saved.epoch),
                static_cast<unsigned long long>(saved.step));
    std::printf("configuration:\n%s\n", to_json(saved.config).dump(2).c_str());
    std::printf("parameters: %zu\n", layout.total());
    for (const ParamSlot& s : layout.slots())
      std::printf("  %-28s %5d x %-5d %zu\n", s.name.c_str(), s.rows, s.cols, s.size());
    const double flops = forward_flops(saved.config);
    std::printf(
        "FLOPs per image: %.3f M forward (inference), about %.3f M for a training step "
        "(forward + backward)\n",
        flops / 1e6, 3 * flops / 1e6);
  });
}

}  // namespace ram::cli
