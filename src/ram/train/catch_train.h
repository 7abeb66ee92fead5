#pragma once
// Training and evaluation of the Catch agent.
//
// Training plays batches of independent games; each update plays batch_size episodes to the
// end, split over the threads (each thread its own games, workspace and gradient buffer, added
// in thread order), then takes one optimiser step. Every random draw is keyed by (update,
// episode): the games' starts, the location noise and the action draws, so a seed and a thread
// count fix the result. Every report_every updates a line goes to metrics.csv and a checkpoint
// is written; the run can be resumed from it.
//
// Evaluation plays episodes in fixed chunks of 64 with draws keyed by the episode's index, so
// the catch rate does not depend on the number of threads.
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "ram/models/catch_agent.h"
#include "ram/run/metrics_table.h"
#include "ram/run/optimizer.h"
#include "ram/run/processes.h"
#include "ram/run/run_directory.h"
#include "ram/util/thread_pool.h"

namespace ram {

inline constexpr double kCatchDefaultEntropy = 0.01;

struct CatchTrainingConfig {
  CatchAgentConfig agent;
  OptimizerConfig optimizer;
  // An entropy bonus of 0.01 where the paper has none: without it the action policy collapsed
  // (entropy near 0, catch rate at the random agent's) in every run tried (docs/catch.md).
  CatchLossWeights loss{.entropy = kCatchDefaultEntropy};
  int batch_size = 32;                // episodes per update
  std::uint64_t frames = 20'000'000;  // budget (the paper's); rounded up to whole updates
  int report_every = 100;             // updates per metrics line and checkpoint
  int threads = 2;
  std::uint64_t seed = 1;
  // Weights uniform in [-r, r]. 0.3 rather than classification's 0.1, which learned more slowly
  // (docs/catch.md: 9.3% vs 15.4% caught around 1M frames), presumably because the almost-empty
  // screen leaves the core's state tiny.
  double init_range = 0.3;
  // > 0: the location policy's std starts here and moves linearly to agent.location_std over
  // the first std_anneal_frames (wide glimpses first, so that the policy sees the whole screen
  // before it settles where to look); 0: agent.location_std throughout (the paper's). 0.5 by
  // default: with a fixed std of 0.1 one seed in five locked its glimpse into a corner
  // (docs/catch.md). A configuration without the field (files from before) reads as 0.
  double initial_std = 0.5;
  std::uint64_t std_anneal_frames = 10'000'000;
  std::uint64_t updates() const;
};

// The location policy's std during update `update` (0-based).
double catch_location_std(const CatchTrainingConfig& config, std::uint64_t update);

void validate(const CatchTrainingConfig& config);
nlohmann::json to_json(const CatchTrainingConfig& config);  // carries "kind": "catch"
CatchTrainingConfig catch_training_config_from_json(const nlohmann::json& j);

struct CatchMetrics {
  std::uint64_t updates = 0, frames = 0;
  double catch_rate = 0;  // over the training episodes since the previous line (sampled policy)
  double reinforce = 0, baseline = 0, entropy = 0;  // per episode, same episodes
  double learning_rate = 0;
  double seconds = 0;            // since the start of the run (resumed runs: of this process)
  double frames_per_second = 0;  // over the same interval
};

template <>
struct MetricColumns<CatchMetrics> {
  using M = CatchMetrics;
  static constexpr auto columns =
      std::tuple{MetricColumn{"updates", &M::updates},
                 MetricColumn{"frames", &M::frames},
                 MetricColumn{"catch_rate", &M::catch_rate},
                 MetricColumn{"reinforce", &M::reinforce},
                 MetricColumn{"baseline", &M::baseline},
                 MetricColumn{"entropy", &M::entropy},
                 MetricColumn{"learning_rate", &M::learning_rate},
                 MetricColumn{"seconds", &M::seconds},
                 MetricColumn{"frames_per_second", &M::frames_per_second}};
  static constexpr std::size_t first_optional = 9;  // every column is required
};

// The running sums of a report interval, kept in checkpoints. (reinforce_location and
// reinforce_action are not: no metric reads them.)
template <>
struct MetricColumns<CatchLossSums> {
  using S = CatchLossSums;
  static constexpr auto columns =
      std::tuple{MetricColumn{"reinforce", &S::reinforce}, MetricColumn{"baseline", &S::baseline},
                 MetricColumn{"entropy", &S::entropy}, MetricColumn{"caught", &S::caught},
                 MetricColumn{"episodes", &S::episodes}};
  static constexpr std::size_t first_optional = 5;  // every column is required
};

struct CatchProgress {
  std::uint64_t frames = 0, total_frames = 0;
  double frames_per_second = 0, eta_seconds = 0;
  double recent_catch_rate = 0;  // over the last `recent_episodes` training episodes
  std::uint64_t recent_episodes = 0;
};

struct CatchTrainCallbacks {
  std::function<void(const CatchProgress&)> update_done;
  std::function<void(const CatchMetrics&)> report_done;
  std::function<bool()> stop_requested;  // true: checkpoint the position reached and return
};

struct CatchTrainResult {
  std::vector<CatchMetrics> history;
  std::vector<float> parameters;
  double seconds = 0;
  bool interrupted = false;
};

inline constexpr int kCatchRecentEpisodes = 1000;  // window of the progress bar's catch rate

// A collapsed action policy: almost deterministic actions (entropy below kCollapseEntropy nats
// per frame; uniform is log 3 = 1.10) while catching little more than a random agent (8%) for a
// long stretch. Runs that learn keep an entropy above 0.6 while they climb out of the random
// agent's rate (docs/catch.md); collapsed ones fell below 0.01 within 200k frames and stayed.
struct CatchCollapse {
  std::uint64_t frames = 0;  // length of the stretch, ending at the last line
  double entropy = 0;        // highest entropy per frame (nats) over the stretch
  double catch_rate = 0;     // highest catch rate over the stretch
};
inline constexpr double kCollapseEntropy = 0.1;
inline constexpr double kCollapseCatchRate = 0.15;
inline constexpr std::uint64_t kCollapseFrames = 1'000'000;
// The collapse that the last lines of `history` show, if they show one.
std::optional<CatchCollapse> catch_collapse(std::span<const CatchMetrics> history);

// Writes checkpoint.ram and metrics.csv into `directory` every report_every updates and
// model.ram at the end (file names of run_directory.h; a directory opened with an empty path
// writes nothing). A directory opened with RunStart::resume continues from the checkpoint it
// read; `config` must then be the checkpoint's (resumed_catch_config), with only threads and
// frames free to differ. Distributed (processes.size() > 1), each process plays its share of
// every batch's episodes, as train() in train.h does with images: N processes of config.threads
// threads give the parameters of one process of N x config.threads threads, bit for bit.
CatchTrainResult train_catch(const CatchTrainingConfig& config, const RunDirectory& directory,
                             const CatchTrainCallbacks& callbacks = {},
                             const Processes& processes = {});
// The same in out_dir, opened for this run alone.
CatchTrainResult train_catch(const CatchTrainingConfig& config, const std::string& out_dir,
                             RunStart start, const CatchTrainCallbacks& callbacks = {});

struct SavedCatchAgent {
  CatchTrainingConfig config;
  std::vector<float> parameters;
  std::uint64_t updates = 0;
};
SavedCatchAgent load_catch_agent(const std::string& path);  // throws ram::Error naming the file
// The same from a checkpoint already read from `path` (e.g. RunDirectory::resumed()).
SavedCatchAgent saved_catch_agent(const Checkpoint& checkpoint, const std::string& path);

// What a resumed Catch run may set; everything else is the checkpoint's. More frames extend the
// run (the learning rate then follows the schedule of a run of that length).
struct CatchResumeSettings {
  std::optional<int> threads;
  std::optional<std::uint64_t> frames;  // at least the frames already played
};
// The configuration a resumed run continues with; throws ram::Error if it cannot be reached.
CatchTrainingConfig resumed_catch_config(const SavedCatchAgent& saved,
                                         const CatchResumeSettings& settings);

inline constexpr std::uint64_t kCatchEvalSeed = 20140624;
inline constexpr int kCatchEvalChunk = 64;

struct CatchEvalResult {
  std::uint64_t episodes = 0, caught = 0;
  double rate() const { return episodes ? double(caught) / double(episodes) : 0.0; }
};

// Starts game `slot` of `games` as evaluation game `episode` of `seed`: the game that
// evaluate_catch plays as its episode `episode`.
void reset_evaluation_game(CatchGames& games, int slot, std::uint64_t seed, std::uint64_t episode);

// The agent over `episodes` games (sampled or greedy policy).
CatchEvalResult evaluate_catch(const CatchAgent<float>& agent, std::span<const float> params,
                               int episodes, CatchPolicy policy, std::uint64_t seed,
                               ThreadPool& pool);

// References on the same games: uniformly random actions, or the full-frame tracker
// (tracking_action in catch_game.h).
enum class CatchReference { random, tracking };
CatchEvalResult evaluate_catch_reference(CatchReference reference, int episodes,
                                         std::uint64_t seed);

// Plays the first `episodes` evaluation games (same games as evaluate_catch) and keeps
// everything they saw and did, for pictures.
CatchWorkspace<float> play_catch(const CatchAgent<float>& agent, std::span<const float> params,
                                 int episodes, CatchPolicy policy, std::uint64_t seed);

}  // namespace ram
