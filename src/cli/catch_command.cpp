// ram catch train|eval|play: the paper's dynamic environment (section 4.2).
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "commands.h"
#include "config_flags.h"
#include "interrupt.h"
#include "progress_bar.h"
#include "ram/train/catch_train.h"
#include "ram/util/error.h"
#include "ram/viz/canvas.h"
#include "ram/viz/catch_curves.h"
#include "ram/viz/catch_frames.h"
#include "ram/viz/image.h"
#include "ram/viz/report.h"
#include "run.h"
#include "run_flags.h"

namespace ram::cli {

namespace {

struct CatchTrainFlags {
  explicit CatchTrainFlags(CLI::App& cmd) : settings(cmd) {}
  std::string out;
  bool resume = false;
  bool overwrite = false;
  bool quiet = false;
  // The settings a flag overrides on top of the defaults.
  ConfigFlags<CatchTrainingConfig> settings;
};

// Said once when the progress lines show a collapsed action policy, naming the flag that helps.
std::string collapse_warning(const CatchCollapse& c, const CatchTrainingConfig& config) {
  char what[256];
  std::snprintf(what, sizeof what,
                "warning: the action policy looks collapsed: action entropy at most %.3f "
                "nats/frame and catch rate at most %.1f%% (a random agent's is about 8%%) over "
                "the last %.2fM frames; ",
                c.entropy, 100 * c.catch_rate, static_cast<double>(c.frames) / 1e6);
  char remedy[256];
  if (config.loss.entropy <= 0)
    std::snprintf(remedy, sizeof remedy,
                  "an entropy bonus usually helps (--entropy %.2g, the default)",
                  kCatchDefaultEntropy);
  else
    std::snprintf(remedy, sizeof remedy,
                  "a larger entropy bonus usually helps (--entropy %.2g, now %.2g)",
                  2 * config.loss.entropy, config.loss.entropy);
  return std::string(what) + remedy;
}

void run_catch_train(const CLI::App& cmd, const CatchTrainFlags& f, Reach reach) {
  if (f.out.empty() && f.resume)
    throw Error("catch train: --resume needs --out DIR, the run to resume");
  const RunStart start = run_start(f.resume, f.overwrite);
  CatchTrainingConfig config;
  f.settings.apply(config);
  // Flags are checked before the directory is touched.
  if (start == RunStart::resume)
    require_only(cmd, "catch train", {"--out", "--resume", "--quiet", "--threads", "--frames"});
  else
    validate(config);
  if (reach == Reach::settings) return;
  // Held to the end of training; a resumed run reads its checkpoint here, once.
  const std::string out = f.out.empty() ? new_run_directory_name("catch") : f.out;
  if (f.out.empty())
    std::printf("ram catch train: writing the run to %s (--out chooses)\n", out.c_str());
  RunDirectory directory(out, start, processes());
  directory.set_start_record(start_record());
  if (start == RunStart::resume) {
    const SavedCatchAgent saved =
        saved_catch_agent(*directory.resumed(), directory.checkpoint_path());
    CatchResumeSettings settings;
    const CatchTrainingConfig& given_values = f.settings.values();
    if (given(cmd, "--threads")) settings.threads = given_values.threads;
    if (given(cmd, "--frames")) settings.frames = given_values.frames;
    config = resumed_catch_config(saved, settings);
    validate(config);
    // Complete, unless killed between its last checkpoint and writing its model.
    if (saved.updates >= config.updates() &&
        processes().root_says(std::filesystem::exists(std::filesystem::path(out) / kModelFile))) {
      std::printf(
          "ram catch train: %s is complete (%llu frames); --resume --frames N with a larger N "
          "trains it further\n",
          out.c_str(),
          static_cast<unsigned long long>(
              saved.updates * static_cast<std::uint64_t>(config.batch_size) * CatchGames::kFrames));
      return;
    }
  }
  std::printf(
      "ram catch train: %s%s, retina %dx%d at %d scales, %s core %d, std %.3g, %s lr %.3g, "
      "batch %d episodes, %.3gM frames (%llu updates), entropy %.3g, discount %.3g, "
      "%d threads, seed %llu\n",
      f.resume ? "resumed run of " : "", f.resume ? out.c_str() : "new run",
      config.agent.retina.glimpse_size, config.agent.retina.glimpse_size,
      config.agent.retina.scales, config.agent.core.c_str(), config.agent.core_size,
      config.agent.location_std, config.optimizer.kind.c_str(), config.optimizer.learning_rate,
      config.batch_size, static_cast<double>(config.frames) / 1e6,
      static_cast<unsigned long long>(config.updates()), config.loss.entropy, config.loss.discount,
      config.threads, static_cast<unsigned long long>(config.seed));
  if (config.initial_std > 0)
    std::printf("location std annealed from %.3g to %.3g over the first %.3gM frames\n",
                config.initial_std, config.agent.location_std,
                static_cast<double>(config.std_anneal_frames) / 1e6);
  if (processes().distributed())
    std::printf("distributed: %d processes x %d threads (%d workers)\n", processes().size(),
                config.threads, processes().size() * config.threads);
  std::fflush(stdout);
  ProgressBar bar(!f.quiet && processes().is_root());
  CatchTrainCallbacks callbacks;
  callbacks.update_done = [&](const CatchProgress& p) { bar.update(p); };
  std::vector<CatchMetrics> lines;  // of this process
  bool collapse_said = false;
  callbacks.report_done = [&](const CatchMetrics& m) {
    bar.clear();
    std::printf(
        "frames %10llu  catch %5.1f%%  entropy %.3f  baseline %.3f  lr %.3g  %.0f frames/s  %.0f "
        "s\n",
        static_cast<unsigned long long>(m.frames), 100 * m.catch_rate,
        -m.entropy / CatchGames::kFrames, m.baseline, m.learning_rate, m.frames_per_second,
        m.seconds);
    lines.push_back(m);
    const std::optional<CatchCollapse> collapse = catch_collapse(lines);
    if (collapse && !collapse_said)
      std::printf("%s\n", collapse_warning(*collapse, config).c_str());
    collapse_said = collapse.has_value();
    std::fflush(stdout);
  };
  callbacks.stop_requested = [] { return interrupt_requested(); };
  stop_on_first_interrupt();
  const CatchTrainResult result = train_catch(config, directory, callbacks, processes());
  bar.clear();
  if (result.interrupted) {
    std::printf(
        "interrupted: checkpoint written to %s; continue with: ram catch train --out %s "
        "--resume\n",
        (std::filesystem::path(out) / kCheckpointFile).c_str(), out.c_str());
    throw ExitRequest{130};
  }
  if (!processes().is_root()) return;  // the root writes the agent and its curve
  std::printf(
      "trained on %llu frames in %.1f s; agent saved to %s\n",
      static_cast<unsigned long long>(config.updates() * config.batch_size * CatchGames::kFrames),
      result.seconds, (std::filesystem::path(out) / kModelFile).c_str());
  if (!result.history.empty()) {
    const std::string curves = (std::filesystem::path(out) / viz::kCurvesFile).string();
    viz::write_figure(viz::catch_curves(result.history, viz::random_agent_catch_rate()), curves);
    std::printf("learning curve in %s\n", curves.c_str());
  }
}

struct CatchEvalFlags {
  std::string model;
  int episodes = 10000;
  bool greedy = false;
  int threads = 2;
  std::uint64_t seed = kCatchEvalSeed;
};

void run_catch_eval(const CatchEvalFlags& f, Reach reach) {
  if (f.episodes < 1 || f.episodes > 100'000'000)
    throw Error("catch eval: --episodes must be in 1..100000000");
  if (f.threads < 1 || f.threads > 256) throw Error("catch eval: --threads must be in 1..256");
  if (reach == Reach::settings) return;
  const SavedCatchAgent saved = load_catch_agent(f.model);
  const CatchAgent<float> agent(saved.config.agent);
  ThreadPool pool(f.threads);
  const CatchEvalResult r =
      evaluate_catch(agent, saved.parameters, f.episodes,
                     f.greedy ? CatchPolicy::greedy : CatchPolicy::sample, f.seed, pool);
  std::printf("catch rate: %.1f%% (%llu of %llu episodes, %s policy, trained %llu frames)\n",
              100 * r.rate(), static_cast<unsigned long long>(r.caught),
              static_cast<unsigned long long>(r.episodes),
              f.greedy ? "greedy: mean location, most likely action" : "sampled",
              static_cast<unsigned long long>(saved.updates * saved.config.batch_size *
                                              CatchGames::kFrames));
  const CatchEvalResult random =
      evaluate_catch_reference(CatchReference::random, f.episodes, f.seed);
  const CatchEvalResult tracker =
      evaluate_catch_reference(CatchReference::tracking, f.episodes, f.seed);
  std::printf("reference, random agent (uniform actions): %.1f%%\n", 100 * random.rate());
  std::printf(
      "reference, full-frame agent (hand-written: sees the whole screen and the previous one, "
      "moves towards the ball's next column): %.1f%%\n",
      100 * tracker.rate());
}

struct CatchPlayFlags {
  std::string model;
  std::string out;
  int episodes = 3;
  bool greedy = false;
  int scale = 8;
  std::string frame_png;
  std::uint64_t seed = kCatchEvalSeed;
};

void run_catch_play(const CatchPlayFlags& f, Reach reach) {
  if (f.out.empty()) throw Error("catch play: --out FILE.gif is required");
  if (f.episodes < 1 || f.episodes > 100) throw Error("catch play: --episodes must be in 1..100");
  if (f.scale < 1 || f.scale > 32) throw Error("catch play: --scale must be in 1..32");
  if (reach == Reach::settings) return;
  const SavedCatchAgent saved = load_catch_agent(f.model);
  const CatchAgent<float> agent(saved.config.agent);
  const CatchWorkspace<float> ws =
      play_catch(agent, saved.parameters, f.episodes,
                 f.greedy ? CatchPolicy::greedy : CatchPolicy::sample, f.seed);
  std::vector<viz::RgbImage> frames;
  int caught = 0;
  for (int e = 0; e < f.episodes; ++e) {
    auto episode = viz::catch_episode_frames(ws, e, saved.config.agent.retina, f.scale);
    // Hold the outcome for a moment.
    for (int k = 0; k < 3; ++k) frames.push_back(episode.back());
    frames.insert(frames.end() - 3, episode.begin(), episode.end() - 1);
    caught += ws.reward(e, 0) > 0.5f ? 1 : 0;
  }
  viz::write_gif(frames, 15, f.out);
  if (!f.frame_png.empty()) viz::write_png(frames[frames.size() / 2], f.frame_png);
  std::printf("%s: %d episodes, %d caught, %zu frames\n", f.out.c_str(), f.episodes, caught,
              frames.size());
}

}  // namespace

void add_catch_command(CLI::App& app, Reach reach) {
  auto* cmd = app.add_subcommand("catch", "The Catch game (the paper's dynamic environment)");
  cmd->require_subcommand(1);

  auto* train = cmd->add_subcommand(
      "train", "Train an agent; writes DIR/model.ram, DIR/checkpoint.ram, DIR/metrics.csv");
  auto tf = std::make_shared<CatchTrainFlags>(*train);
  const std::string run = "Run";
  train
      ->add_option("--out", tf->out,
                   "Run directory (default: runs/catch-DATE-TIME; required with --resume)")
      ->group(run);
  train
      ->add_flag("--resume", tf->resume,
                 "Continue from DIR/checkpoint.ram with the settings the run started with "
                 "(only --threads and --frames may be given: more frames extend the run)")
      ->group(run);
  train
      ->add_flag("--overwrite", tf->overwrite,
                 "Start a new run in DIR even if it holds one (its model, checkpoint and "
                 "metrics are removed)")
      ->group(run);
  train->add_flag("--quiet", tf->quiet, "No progress bar")->group(run);
  using C = CatchTrainingConfig;
  using A = CatchAgentConfig;
  using O = OptimizerConfig;
  using L = CatchLossWeights;
  ConfigFlags<C>& s = tf->settings;
  s.group(run);
  s.add("--frames", member(&C::frames), "Training budget in frames (the paper's: 20 million)");
  s.add("--report-every", member(&C::report_every), "Updates per metrics line and checkpoint");
  s.add("--threads", member(&C::threads), "Threads");
  s.add("--seed", member(&C::seed), "Random seed");
  s.group("Model");
  s.add("--core", member(&C::agent, &A::core), "lstm (the paper's) or relu");
  s.add("--core-size", member(&C::agent, &A::core_size), "Core size");
  s.add("--glimpse-hidden", member(&C::agent, &A::glimpse_hidden), "h_g size");
  s.add("--location-hidden", member(&C::agent, &A::location_hidden), "h_l size");
  s.add("--glimpse-features", member(&C::agent, &A::glimpse_features), "g size");
  s.add("--init-range", member(&C::init_range), "Weights start uniform in [-r, r]");
  s.group("Optimiser");
  s.add("--batch", member(&C::batch_size), "Episodes per update");
  s.add("--optimizer", member(&C::optimizer, &O::kind), "adam or sgd");
  s.add("--lr", member(&C::optimizer, &O::learning_rate), "Initial learning rate");
  s.add("--final-lr", member(&C::optimizer, &O::final_learning_rate),
        "Learning rate reached at the end");
  s.add("--momentum", member(&C::optimizer, &O::momentum), "SGD momentum");
  s.add("--clip", member(&C::optimizer, &O::clip_norm), "Clip the gradient norm (0 = off)");
  s.group("Loss and policy");
  s.add("--std", member(&C::agent, &A::location_std), "Location policy std");
  s.add("--std-start", member(&C::initial_std),
        "Start the location policy's std here and anneal it linearly to --std over "
        "--std-anneal-frames (0: --std throughout, the paper's; with it one seed in five "
        "locked its glimpse in a corner, docs/catch.md)");
  s.add("--std-anneal-frames", member(&C::std_anneal_frames),
        "Frames over which --std-start anneals to --std");
  s.add("--reinforce-trains-core", member(&C::agent, &A::location_trains_core),
        "Let the location policy's REINFORCE gradient reach the core and glimpse net, as in "
        "ram train",
        {"--location-trains-core"});
  s.add("--entropy", member(&C::loss, &L::entropy),
        "Entropy bonus weight of the action policy (0: off, the paper's; without it the "
        "policy collapsed in every run tried, docs/catch.md)");
  s.add("--discount", member(&C::loss, &L::discount), "Reward discount per frame (1: off)");
  s.add("--reinforce-weight", member(&C::loss, &L::reinforce), "Weight of REINFORCE");
  s.add("--baseline-weight", member(&C::loss, &L::baseline), "Weight of the baseline");
  s.show_defaults(CatchTrainingConfig{});
  train->footer("Values after = and in [brackets] are the defaults.");
  train->callback([train, tf, reach] { run_catch_train(*train, *tf, reach); });

  auto* eval = cmd->add_subcommand("eval", "Catch rate of a trained agent, with references");
  auto ef = std::make_shared<CatchEvalFlags>();
  eval->add_option("model", ef->model, "Agent file (DIR/model.ram)")->required();
  eval->add_option("--episodes", ef->episodes, "Episodes");
  eval->add_flag("--greedy", ef->greedy, "Mean location and most likely action, no sampling");
  eval->add_option("--threads", ef->threads, "Threads");
  eval->add_option("--seed", ef->seed, "Seed of the evaluation games");
  eval->callback([ef, reach] { run_catch_eval(*ef, reach); });

  auto* play = cmd->add_subcommand("play", "Render episodes with the glimpses as a GIF");
  auto pf = std::make_shared<CatchPlayFlags>();
  play->add_option("model", pf->model, "Agent file (DIR/model.ram)")->required();
  play->add_option("--out", pf->out, "GIF file to write (required)");
  play->add_option("--episodes", pf->episodes, "Episodes");
  play->add_flag("--greedy", pf->greedy, "Mean location and most likely action");
  play->add_option("--scale", pf->scale, "Pixels per screen pixel");
  play->add_option("--frame-png", pf->frame_png, "Also write one frame as a PNG");
  play->add_option("--seed", pf->seed, "Seed of the games");
  play->callback([pf, reach] { run_catch_play(*pf, reach); });
}

}  // namespace ram::cli
