#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "commands.h"
#include "model_argument.h"
#include "ram/env/idx.h"
#include "ram/env/source.h"
#include "ram/train/train.h"
#include "ram/util/error.h"
#include "ram/viz/canvas.h"
#include "ram/viz/glimpse_figure.h"

namespace ram::cli {

namespace {

struct GlimpsesFlags {
  std::string model_path;
  std::string data_dir;
  std::string out;
  int count = 8;
  bool mean_location = false;
  viz::GlimpseFigureOptions figure;
};

void run_glimpses(const GlimpsesFlags& f, Reach reach) {
  if (f.out.empty()) throw Error("glimpses: --out DIR is required");
  if (reach == Reach::settings) return;
  const SavedModel saved = load_model(model_file(f.model_path));
  const TrainingConfig& config = saved.config;
  const ImageSet digits = f.data_dir.empty() ? load_training_data(config.data).validation
                                             : load_idx_dir(f.data_dir, "t10k");
  const ImageSet images = render_evaluation_set(config, digits);
  if (config.architecture != "ram")
    throw Error(f.model_path + ": the model is the " + config.architecture +
                " baseline, which takes no glimpses");
  const RamModel<float> model(config.model);
  const EvalOptions options = evaluation_options(config, f.mean_location, 1);
  const std::vector<std::size_t> indices =
      viz::spread_indices(images.size(), static_cast<std::size_t>(f.count));
  const std::vector<viz::Episode> episodes =
      viz::record_episodes(model, saved.parameters, images, indices, options);
  const std::filesystem::path out(f.out);
  std::filesystem::create_directories(out);
  std::size_t correct = 0;
  for (const viz::Episode& e : episodes) {
    char stem[32];
    std::snprintf(stem, sizeof stem, "glimpses-%04zu", e.index);
    viz::write_figure(viz::glimpse_figure(e, f.figure), out / (std::string(stem) + ".png"));
    const std::vector<viz::RgbImage> frames = viz::glimpse_frames(e, f.figure);
    viz::write_gif(frames, viz::glimpse_frame_delays(frames.size()),
                   out / (std::string(stem) + ".gif"));
    correct += e.predicted == e.label;
  }
  std::printf(
      "wrote glimpses-NNNN.png and .gif (NNNN: the image's index in the evaluation set) for %zu "
      "of its %zu images into %s; %zu classified correctly (%s)\n",
      episodes.size(), images.size(), f.out.c_str(), correct,
      (location_policy_name(config, f.mean_location) +
       (config.random_glimpses || f.mean_location ? "" : ", as ram eval"))
          .c_str());
}

}  // namespace

void add_glimpses_command(CLI::App& app, Reach reach) {
  auto* cmd = app.add_subcommand(
      "glimpses",
      "Draw where a model looks: per image a figure (DIR/glimpses-NNNN.png: the glimpse path on "
      "the image, then what the retina saw at each step) and an animation (.gif)");
  auto f = std::make_shared<GlimpsesFlags>();
  cmd->add_option("MODEL", f->model_path,
                  "Model file (model.ram or checkpoint.ram) or a run directory of ram train")
      ->required();
  cmd->add_option("--out", f->out, "Output directory (required)");
  cmd->add_option("--data", f->data_dir,
                  "Directory with MNIST-format t10k files; default: the validation split of the "
                  "model's training data (the set ram eval uses)");
  cmd->add_option("--count", f->count,
                  "Images to draw, spread evenly over the evaluation set (default 8)")
      ->check(CLI::Range(1, 1000));
  cmd->add_flag("--greedy", f->mean_location,
                "Deterministic policy: glimpse at the policy's mean instead of a sample");
  cmd->add_flag("--mean-location", f->mean_location)->group("");  // the old name
  cmd->add_flag("--finest-only", f->figure.finest_only,
                "Draw one box per glimpse, the finest scale's, instead of every scale's");
  cmd->callback([f, reach] { run_glimpses(*f, reach); });
}

}  // namespace ram::cli
