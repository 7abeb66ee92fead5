#include <cstdio>
#include <memory>

#include "commands.h"
#include "ram/experiments/benchmark.h"
#include "ram/experiments/presets.h"

namespace ram::cli {

namespace {

struct BenchFlags {
  std::string preset = kDefaultPreset;
  int batch = 20;
  int threads = 2;
  double seconds = 5;
  int canvas = 0;  // 0: the preset's
  bool eval_only = false;
  bool train_only = false;
};

}  // namespace

void add_bench_command(CLI::App& app, Reach reach) {
  auto* cmd = app.add_subcommand(
      "bench", "Time steady-state training and evaluation of a preset on synthetic digits");
  auto f = std::make_shared<BenchFlags>();
  cmd->add_option("--preset", f->preset,
                  "Paper setting (default " + std::string(kDefaultPreset) + ")");
  cmd->add_option("--batch", f->batch, "Images per mini-batch (default 20)")
      ->check(CLI::Range(1, 65536));
  cmd->add_option("--threads", f->threads, "Threads (default 2)")->check(CLI::Range(1, 256));
  cmd->add_option("--seconds", f->seconds, "Seconds to time each of training and evaluation")
      ->check(CLI::Range(0.1, 3600.0));
  cmd->add_option("--canvas", f->canvas,
                  "Canvas side in pixels, overriding the preset's (image size N x N; the digit "
                  "is placed on it as the preset's task does)")
      ->check(CLI::Range(28, 4096));
  auto* eval_only =
      cmd->add_flag("--eval-only", f->eval_only, "Time evaluation only (skip training)");
  cmd->add_flag("--train-only", f->train_only,
                "Time training only (skip evaluation), for a profile of the training step")
      ->excludes(eval_only);
  cmd->callback([f, reach] {
    TrainingConfig config = find_preset(f->preset).config;
    config.batch_size = f->batch;
    config.threads = f->threads;
    if (f->canvas > 0) {
      config.task.canvas = f->canvas;
      config.model.image_height = config.model.image_width = f->canvas;
    }
    validate(config);
    if (reach == Reach::settings) return;
    const BenchmarkResult r = run_benchmark(
        config, f->seconds, {.training = !f->eval_only, .evaluation = !f->train_only});
    std::printf("preset: %s, batch %d, threads %d\n", f->preset.c_str(), f->batch, f->threads);
    std::printf("canvas: %dx%d\n", config.task.canvas, config.task.canvas);
    if (!f->eval_only) std::printf("train img/s: %.0f\n", r.train_images_per_second);
    if (!f->train_only) {
      std::printf("eval img/s: %.0f\n", r.eval_images_per_second);
      std::printf("eval ms/image: %.4f\n", 1000.0 / r.eval_images_per_second);
    }
    std::printf("FLOPs per image: %.3f M forward, %.3f M training step\n", r.forward_flops / 1e6,
                r.train_flops / 1e6);
    if (f->eval_only) {
      std::printf("achieved GFLOP/s: %.1f evaluation\n",
                  r.eval_images_per_second * r.forward_flops / 1e9);
    } else if (f->train_only) {
      std::printf("achieved GFLOP/s: %.1f training\n",
                  r.train_images_per_second * r.train_flops / 1e9);
    } else {
      std::printf("achieved GFLOP/s: %.1f training, %.1f evaluation\n",
                  r.train_images_per_second * r.train_flops / 1e9,
                  r.eval_images_per_second * r.forward_flops / 1e9);
    }
    if (!f->eval_only)
      std::printf("peak memory after training: %.1f MiB\n", r.train_peak_memory_mib);
    std::printf("peak memory: %.1f MiB\n", r.peak_memory_mib);
    if (!f->train_only)
      std::printf("evaluation set: %zu images, rendered once, timed in repeated passes\n",
                  r.eval_set_images);
  });
}

}  // namespace ram::cli
