#include "ram/train/catch_train.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <filesystem>
#include <fstream>
#include <optional>

#include "ram/run/checkpoint.h"
#include "ram/run/data_parallel.h"
#include "ram/run/training_run.h"
#include "ram/util/error.h"
#include "ram/util/json_fields.h"
#include "ram/util/rng.h"

namespace ram {

namespace {

// Keys that separate the random streams of one seed.
constexpr std::uint64_t kGameKey = 0xca71, kNoiseKey = 0xca72;
constexpr int kFrames = CatchGames::kFrames;
constexpr int kDraws = CatchAgent<float>::draws_per_episode();

constexpr ConfigCheck require{"catch training configuration"};

// Standard normals for the location and a uniform for the action, per frame.
void fill_draws(Rng& rng, float* d) {
  for (int s = 0; s < kFrames; ++s) {
    d[s * kCatchDrawsPerFrame + 0] = static_cast<float>(rng.normal());
    d[s * kCatchDrawsPerFrame + 1] = static_cast<float>(rng.normal());
    d[s * kCatchDrawsPerFrame + 2] = static_cast<float>(rng.uniform());
  }
}

Checkpoint make_checkpoint(const CatchTrainingConfig& config, const AlignedVector<float>& params,
                           const Optimizer& optimizer, const std::vector<CatchMetrics>& history,
                           const CatchLossSums& interval_sums) {
  const nlohmann::json progress{{"metrics", metrics_to_json(history)},
                                {"interval_sums", metrics_to_json(interval_sums)}};
  return training_checkpoint(to_json(config), params, optimizer, 0, progress);
}

CatchTrainingConfig checked_config(const std::string& path, const Checkpoint& c) {
  CatchTrainingConfig config;
  try {
    const auto j = nlohmann::json::parse(c.config_json);
    if (!j.is_object() || !j.contains("kind") || j["kind"] != "catch")
      throw Error("not a Catch agent (a classification model? use `ram eval`)");
    config = catch_training_config_from_json(j);
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": " + e.what());
  }
  require_parameter_count(path, c, CatchAgent<float>(config.agent).parameter_count());
  return config;
}

// One update's gradient: plays the batch's games with the episodes split over the threads
// (DataParallelGradient).
class CatchBatchGradient {
 public:
  CatchBatchGradient(const CatchAgent<float>& agent, const CatchTrainingConfig& config,
                     ThreadPool& pool, const Processes& processes)
      : agent_(agent),
        config_(config),
        games_(config.batch_size),
        draws_(static_cast<std::size_t>(config.batch_size) * kDraws),
        threads_(agent.parameter_count(), pool, processes) {}

  CatchLossSums compute(const float* params, std::uint64_t update) {
    const float scale = 1.0f / static_cast<float>(config_.batch_size);
    return threads_.compute(
        config_.batch_size, [&](int lo, int hi, CatchWorkspace<float>& ws, float* grad) {
          for (int e = lo; e < hi; ++e) {
            Rng game_rng(config_.seed, {kGameKey, update, static_cast<std::uint64_t>(e)});
            games_.reset(e, game_rng);
            Rng noise_rng(config_.seed, {kNoiseKey, update, static_cast<std::uint64_t>(e)});
            fill_draws(noise_rng, draws_.data() + static_cast<std::size_t>(e) * kDraws);
          }
          ws.location_std = catch_location_std(config_, update);
          agent_.play(params, games_, lo, hi - lo, CatchPolicy::sample,
                      draws_.data() + static_cast<std::size_t>(lo) * kDraws, config_.loss, ws);
          const CatchLossSums sums = agent_.loss_sums(ws);
          agent_.backward(params, config_.loss, scale, ws, grad);
          return sums;
        });
  }

  AlignedVector<float>& gradient() { return threads_.gradient(); }

 private:
  const CatchAgent<float>& agent_;
  const CatchTrainingConfig& config_;
  CatchGames games_;
  std::vector<float> draws_;
  DataParallelGradient<CatchWorkspace<float>, CatchLossSums> threads_;
};

}  // namespace

std::uint64_t CatchTrainingConfig::updates() const {
  const std::uint64_t per_update = static_cast<std::uint64_t>(batch_size) * kFrames;
  return std::max<std::uint64_t>(1, (frames + per_update - 1) / per_update);
}

void validate(const CatchTrainingConfig& c) {
  validate(c.agent);
  validate(c.optimizer);
  require(c.batch_size >= 1 && c.batch_size <= 65536, "batch size must be in 1..65536");
  require(c.frames >= 1 && c.frames <= 100'000'000'000ULL, "frames must be in 1..1e11");
  require(c.report_every >= 1 && c.report_every <= 1'000'000, "report every must be in 1..1e6");
  require(c.threads >= 1 && c.threads <= 256, "threads must be in 1..256");
  require(std::isfinite(c.init_range) && c.init_range > 0 && c.init_range <= 10,
          "init range must be in (0, 10]");
  require(std::isfinite(c.loss.reinforce) && c.loss.reinforce >= 0 &&
              std::isfinite(c.loss.baseline) && c.loss.baseline >= 0 &&
              std::isfinite(c.loss.entropy) && c.loss.entropy >= 0,
          "loss weights must be finite and >= 0");
  require(std::isfinite(c.loss.discount) && c.loss.discount > 0 && c.loss.discount <= 1,
          "discount must be in (0, 1]");
  require(std::isfinite(c.initial_std) && c.initial_std >= 0 && c.initial_std <= 10,
          "initial std must be 0 (off) or in (0, 10]");
  require(c.std_anneal_frames >= 1, "std anneal frames must be at least 1");
}

double catch_location_std(const CatchTrainingConfig& c, std::uint64_t update) {
  if (c.initial_std <= 0) return c.agent.location_std;
  const double frames = static_cast<double>(update) * c.batch_size * kFrames;
  const double f = std::min(1.0, frames / static_cast<double>(c.std_anneal_frames));
  return c.initial_std + (c.agent.location_std - c.initial_std) * f;
}

nlohmann::json to_json(const CatchTrainingConfig& c) {
  nlohmann::json j = {{"kind", "catch"},
                      {"agent", to_json(c.agent)},
                      {"optimizer", to_json(c.optimizer)},
                      {"loss",
                       {{"reinforce", c.loss.reinforce},
                        {"baseline", c.loss.baseline},
                        {"entropy", c.loss.entropy},
                        {"discount", c.loss.discount}}},
                      {"batch_size", c.batch_size},
                      {"frames", c.frames},
                      {"report_every", c.report_every},
                      {"threads", c.threads},
                      {"seed", c.seed},
                      {"init_range", c.init_range}};
  // Only when on, so that the configurations of runs without it read exactly as before.
  if (c.initial_std > 0) {
    j["initial_std"] = c.initial_std;
    j["std_anneal_frames"] = c.std_anneal_frames;
  }
  return j;
}

CatchTrainingConfig catch_training_config_from_json(const nlohmann::json& j) {
  CatchTrainingConfig c;
  read_json("catch training configuration: ", [&] {
    if (json_field<std::string>(j, "kind") != "catch") throw Error("field 'kind' must be catch");
    c.agent = catch_agent_config_from_json(j.at("agent"));
    c.optimizer = optimizer_config_from_json(j.at("optimizer"));
    const auto& loss = j.at("loss");
    c.loss.reinforce = json_field<double>(loss, "reinforce");
    c.loss.baseline = json_field<double>(loss, "baseline");
    c.loss.entropy = json_field<double>(loss, "entropy");
    c.loss.discount = json_field<double>(loss, "discount");
    c.batch_size = json_field<int>(j, "batch_size");
    c.frames = json_field<std::uint64_t>(j, "frames");
    c.report_every = json_field<int>(j, "report_every");
    c.threads = json_field<int>(j, "threads");
    c.seed = json_field<std::uint64_t>(j, "seed");
    c.init_range = json_field<double>(j, "init_range");
    // Written only when on: a run without the field was trained with agent.location_std
    // throughout (as every run was before the field existed).
    c.initial_std = 0;
    if (j.contains("initial_std")) {
      c.initial_std = json_field<double>(j, "initial_std");
      c.std_anneal_frames = json_field<std::uint64_t>(j, "std_anneal_frames");
    }
  });
  validate(c);
  return c;
}

SavedCatchAgent load_catch_agent(const std::string& path) {
  return saved_catch_agent(load_checkpoint(path), path);
}

SavedCatchAgent saved_catch_agent(const Checkpoint& c, const std::string& path) {
  return {checked_config(path, c), c.parameters, c.step};
}

CatchTrainingConfig resumed_catch_config(const SavedCatchAgent& saved,
                                         const CatchResumeSettings& settings) {
  CatchTrainingConfig config = saved.config;
  if (settings.threads) config.threads = *settings.threads;
  if (settings.frames) {
    config.frames = *settings.frames;
    if (config.updates() < saved.updates)
      throw Error(
          "resume: the run has played " +
          std::to_string(saved.updates * static_cast<std::uint64_t>(config.batch_size) * kFrames) +
          " frames, so it cannot end after " + std::to_string(*settings.frames));
  }
  return config;
}

CatchTrainResult train_catch(const CatchTrainingConfig& config, const std::string& out_dir,
                             RunStart run_start, const CatchTrainCallbacks& callbacks) {
  const RunDirectory directory(out_dir, run_start);
  return train_catch(config, directory, callbacks);
}

CatchTrainResult train_catch(const CatchTrainingConfig& config, const RunDirectory& directory,
                             const CatchTrainCallbacks& callbacks, const Processes& processes) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  validate(config);
  processes.require_same("the Catch training configuration", to_json(config).dump());
  const std::string& out_dir = directory.path();
  const std::string& checkpoint_path = directory.checkpoint_path();
  const std::optional<Checkpoint>& saved = directory.resumed();
  if (saved) {
    require_same_run(checkpoint_path, to_json(checked_config(checkpoint_path, *saved)),
                     to_json(config), {"/threads", "/frames"});
  }
  directory.begin_run();

  const CatchAgent<float> agent(config.agent);
  const std::uint64_t total_updates = config.updates();
  const std::uint64_t frames_per_update = static_cast<std::uint64_t>(config.batch_size) * kFrames;
  AlignedVector<float> params(agent.parameter_count());
  agent.initialize(params, config.seed, config.init_range);
  Optimizer optimizer(config.optimizer, params.size(), total_updates);
  std::vector<CatchMetrics> history;
  CatchLossSums interval;
  if (saved) {
    restore_training(*saved, params, optimizer, 0);  // a Catch run never skips
    if (saved->step > total_updates)
      throw Error(checkpoint_path + ": its position (update " + std::to_string(saved->step) +
                  ") is past the run's " + std::to_string(total_updates) + " updates");
    read_progress(*saved, checkpoint_path, [&](const nlohmann::json& progress) {
      history = metrics_from_json_array<CatchMetrics>(progress.at("metrics"));
      interval = metrics_from_json<CatchLossSums>(progress.at("interval_sums"));
    });
  }

  auto finish = [&](bool interrupted) {
    CatchTrainResult result;
    result.history = std::move(history);
    result.parameters.assign(params.begin(), params.end());
    result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    result.interrupted = interrupted;
    return result;
  };
  auto save = [&](const std::string& path) {
    if (!out_dir.empty())
      save_checkpoint(path, make_checkpoint(config, params, optimizer, history, interval));
  };

  ThreadPool pool(config.threads);
  CatchBatchGradient batch_gradient(agent, config, pool, processes);
  std::deque<std::pair<double, double>> recent;  // (caught, episodes) per update
  double recent_caught = 0, recent_episodes = 0;
  auto interval_start = Clock::now();
  // The rate counts this process's episodes only: a resumed interval's restored sums took no
  // time here.
  double interval_episodes_before = interval.episodes;
  const std::uint64_t first_update = optimizer.steps_taken();

  for (std::uint64_t u = first_update; u < total_updates; ++u) {
    const CatchLossSums sums = batch_gradient.compute(params.data(), u);
    take_step(optimizer, params, batch_gradient.gradient(), sums.total(config.loss),
              /*skip_nonfinite=*/false, pool, directory,
              [&] { return "update " + std::to_string(u + 1); });
    interval += sums;
    recent.emplace_back(sums.caught, sums.episodes);
    recent_caught += sums.caught;
    recent_episodes += sums.episodes;
    while (recent.size() > 1 && recent_episodes - recent.front().second >= kCatchRecentEpisodes) {
      recent_caught -= recent.front().first;
      recent_episodes -= recent.front().second;
      recent.pop_front();
    }
    const auto now = Clock::now();
    const double elapsed = std::chrono::duration<double>(now - start).count();
    if (callbacks.update_done) {
      CatchProgress p;
      p.frames = (u + 1) * frames_per_update;
      p.total_frames = total_updates * frames_per_update;
      p.frames_per_second =
          elapsed > 0 ? static_cast<double>((u + 1 - first_update) * frames_per_update) / elapsed
                      : 0;
      p.eta_seconds = p.frames_per_second > 0
                          ? static_cast<double>(p.total_frames - p.frames) / p.frames_per_second
                          : 0;
      p.recent_catch_rate = recent_caught / recent_episodes;
      p.recent_episodes = static_cast<std::uint64_t>(recent_episodes);
      callbacks.update_done(p);
    }
    const bool last = u + 1 == total_updates;
    if ((u + 1) % static_cast<std::uint64_t>(config.report_every) == 0 || last) {
      CatchMetrics m;
      m.updates = u + 1;
      m.frames = (u + 1) * frames_per_update;
      m.catch_rate = interval.caught / interval.episodes;
      m.reinforce = interval.reinforce / interval.episodes;
      m.baseline = interval.baseline / interval.episodes;
      m.entropy = interval.entropy / interval.episodes;
      m.learning_rate = optimizer.learning_rate_at(optimizer.steps_taken());
      m.seconds = elapsed;
      m.frames_per_second = (interval.episodes - interval_episodes_before) * kFrames /
                            std::chrono::duration<double>(now - interval_start).count();
      history.push_back(m);
      interval = {};
      interval_episodes_before = 0;
      interval_start = now;
      if (!out_dir.empty()) {
        save(checkpoint_path);
        write_metrics_csv((std::filesystem::path(out_dir) / kMetricsFile).string(), history);
      }
      if (callbacks.report_done) callbacks.report_done(m);
    }
    if (!last && processes.any(callbacks.stop_requested && callbacks.stop_requested())) {
      save(checkpoint_path);
      return finish(/*interrupted=*/true);
    }
  }
  if (!out_dir.empty())
    save_model_file(out_dir, make_checkpoint(config, params, optimizer, history, interval));
  return finish(/*interrupted=*/false);
}

namespace {

// Resets the games of episodes [first, first + count) of an evaluation.
void reset_evaluation_games(CatchGames& games, int first, int count, std::uint64_t seed) {
  games.resize(count);
  for (int i = 0; i < count; ++i)
    reset_evaluation_game(games, i, seed, static_cast<std::uint64_t>(first + i));
}

std::vector<float> evaluation_draws(int first, int count, std::uint64_t seed) {
  std::vector<float> draws(static_cast<std::size_t>(count) * kDraws);
  for (int i = 0; i < count; ++i) {
    Rng rng(seed, {kNoiseKey, static_cast<std::uint64_t>(first + i)});
    fill_draws(rng, draws.data() + static_cast<std::size_t>(i) * kDraws);
  }
  return draws;
}

}  // namespace

void reset_evaluation_game(CatchGames& games, int slot, std::uint64_t seed, std::uint64_t episode) {
  Rng rng(seed, {kGameKey, episode});
  games.reset(slot, rng);
}

std::optional<CatchCollapse> catch_collapse(std::span<const CatchMetrics> history) {
  CatchCollapse c;
  std::size_t first = history.size();
  while (first > 0) {
    const CatchMetrics& m = history[first - 1];
    const double entropy = -m.entropy / kFrames;
    if (entropy >= kCollapseEntropy || m.catch_rate >= kCollapseCatchRate) break;
    c.entropy = std::max(c.entropy, entropy);
    c.catch_rate = std::max(c.catch_rate, m.catch_rate);
    --first;
  }
  if (first == history.size()) return std::nullopt;
  c.frames = history.back().frames - (first > 0 ? history[first - 1].frames : 0);
  if (c.frames < kCollapseFrames) return std::nullopt;
  return c;
}

CatchEvalResult evaluate_catch(const CatchAgent<float>& agent, std::span<const float> params,
                               int episodes, CatchPolicy policy, std::uint64_t seed,
                               ThreadPool& pool) {
  if (params.size() != agent.parameter_count())
    throw Error("evaluate: parameter buffer has wrong size");
  if (policy == CatchPolicy::given) throw Error("evaluate: the policy must sample or be greedy");
  const int chunks = (episodes + kCatchEvalChunk - 1) / kCatchEvalChunk;
  std::vector<std::uint64_t> caught(static_cast<std::size_t>(chunks), 0);
  std::vector<CatchWorkspace<float>> workspaces(pool.size());
  std::vector<CatchGames> games(pool.size());
  pool.run(chunks, [&](int c, int thread) {
    const int first = c * kCatchEvalChunk, count = std::min(kCatchEvalChunk, episodes - first);
    reset_evaluation_games(games[thread], first, count, seed);
    const std::vector<float> draws = evaluation_draws(first, count, seed);
    CatchWorkspace<float>& ws = workspaces[thread];
    agent.play(params.data(), games[thread], 0, count, policy, draws.data(), CatchLossWeights{},
               ws);
    for (int i = 0; i < count; ++i) caught[c] += ws.reward(i, 0) > 0.5f ? 1 : 0;
  });
  CatchEvalResult result;
  result.episodes = static_cast<std::uint64_t>(std::max(episodes, 0));
  for (auto k : caught) result.caught += k;
  return result;
}

CatchEvalResult evaluate_catch_reference(CatchReference reference, int episodes,
                                         std::uint64_t seed) {
  CatchGames games;
  reset_evaluation_games(games, 0, episodes, seed);
  std::vector<float> screen(CatchGames::kPixels), previous(CatchGames::kPixels);
  CatchEvalResult result;
  for (int i = 0; i < episodes; ++i) {
    Rng rng(seed, {kNoiseKey, static_cast<std::uint64_t>(i)});
    for (bool first = true; !games.done(i); first = false) {
      CatchAction action;
      if (reference == CatchReference::random) {
        action = static_cast<CatchAction>(rng.below(CatchGames::kActions));
      } else {
        std::swap(screen, previous);
        games.render(i, screen.data());
        action = tracking_action(screen.data(), first ? nullptr : previous.data());
      }
      games.step(i, action);
    }
    result.caught += games.reward(i) > 0.5f ? 1 : 0;
  }
  result.episodes = static_cast<std::uint64_t>(std::max(episodes, 0));
  return result;
}

CatchWorkspace<float> play_catch(const CatchAgent<float>& agent, std::span<const float> params,
                                 int episodes, CatchPolicy policy, std::uint64_t seed) {
  if (params.size() != agent.parameter_count())
    throw Error("play: parameter buffer has wrong size");
  CatchGames games;
  reset_evaluation_games(games, 0, episodes, seed);
  const std::vector<float> draws = evaluation_draws(0, episodes, seed);
  CatchWorkspace<float> ws;
  agent.play(params.data(), games, 0, episodes, policy, draws.data(), CatchLossWeights{}, ws);
  return ws;
}

}  // namespace ram
