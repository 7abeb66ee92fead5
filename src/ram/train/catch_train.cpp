#include "ram/train/catch_train.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <filesystem>
#include <fstream>
#include <optional>

#include "ram/run/checkpoint.h"
#include "ram/run/thread_gradients.h"
#include "ram/util/error.h"
#include "ram/util/json_fields.h"
#include "ram/util/rng.h"

namespace ram {

namespace {

// Keys that separate the random streams of one seed.
constexpr std::uint64_t kGameKey = 0xca71, kNoiseKey = 0xca72;
constexpr int kFrames = CatchGames::kFrames;
constexpr int kDraws = CatchAgent<float>::draws_per_episode();

void require(bool ok, const std::string& message) {
  if (!ok) throw Error("catch training configuration: " + message);
}

// Standard normals for the location and a uniform for the action, per frame.
void fill_draws(Rng& rng, float* d) {
  for (int s = 0; s < kFrames; ++s) {
    d[s * kCatchDrawsPerFrame + 0] = static_cast<float>(rng.normal());
    d[s * kCatchDrawsPerFrame + 1] = static_cast<float>(rng.normal());
    d[s * kCatchDrawsPerFrame + 2] = static_cast<float>(rng.uniform());
  }
}

nlohmann::json to_json(const CatchMetrics& m) {
  return {{"updates", m.updates},
          {"frames", m.frames},
          {"catch_rate", m.catch_rate},
          {"reinforce", m.reinforce},
          {"baseline", m.baseline},
          {"entropy", m.entropy},
          {"learning_rate", m.learning_rate},
          {"seconds", m.seconds},
          {"frames_per_second", m.frames_per_second}};
}

CatchMetrics catch_metrics_from_json(const nlohmann::json& j) {
  CatchMetrics m;
  m.updates = json_field<std::uint64_t>(j, "updates");
  m.frames = json_field<std::uint64_t>(j, "frames");
  m.catch_rate = json_field<double>(j, "catch_rate");
  m.reinforce = json_field<double>(j, "reinforce");
  m.baseline = json_field<double>(j, "baseline");
  m.entropy = json_field<double>(j, "entropy");
  m.learning_rate = json_field<double>(j, "learning_rate");
  m.seconds = json_field<double>(j, "seconds");
  m.frames_per_second = json_field<double>(j, "frames_per_second");
  return m;
}

nlohmann::json to_json(const CatchLossSums& s) {
  return {{"reinforce", s.reinforce},
          {"baseline", s.baseline},
          {"entropy", s.entropy},
          {"caught", s.caught},
          {"episodes", s.episodes}};
}

CatchLossSums catch_sums_from_json(const nlohmann::json& j) {
  CatchLossSums s;
  s.reinforce = json_field<double>(j, "reinforce");
  s.baseline = json_field<double>(j, "baseline");
  s.entropy = json_field<double>(j, "entropy");
  s.caught = json_field<double>(j, "caught");
  s.episodes = json_field<double>(j, "episodes");
  return s;
}

void write_metrics(const std::string& path, const std::vector<CatchMetrics>& history) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << "updates,frames,catch_rate,reinforce,baseline,entropy,learning_rate,seconds,"
           "frames_per_second\n";
    for (const auto& m : history)
      out << m.updates << ',' << m.frames << ',' << m.catch_rate << ',' << m.reinforce << ','
          << m.baseline << ',' << m.entropy << ',' << m.learning_rate << ',' << m.seconds << ','
          << m.frames_per_second << '\n';
    if (!out) throw Error(path + ": cannot write the metrics file");
  }
  std::filesystem::rename(tmp, path);
}

Checkpoint make_checkpoint(const CatchTrainingConfig& config, const AlignedVector<float>& params,
                           const Optimizer& optimizer, const std::vector<CatchMetrics>& history,
                           const CatchLossSums& interval_sums) {
  Checkpoint c;
  c.config_json = to_json(config).dump();
  c.parameters.assign(params.begin(), params.end());
  c.optimizer_json = to_json(config.optimizer).dump();
  c.optimizer_state = optimizer.state();
  c.step = optimizer.steps_taken();
  nlohmann::json metrics = nlohmann::json::array();
  for (const auto& m : history) metrics.push_back(to_json(m));
  c.progress_json =
      nlohmann::json{{"metrics", metrics}, {"interval_sums", to_json(interval_sums)}}.dump();
  return c;
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
  const CatchAgent<float> agent(config.agent);
  if (c.parameters.size() != agent.parameter_count())
    throw Error(path + ": the file holds " + std::to_string(c.parameters.size()) +
                " parameters but its configuration needs " +
                std::to_string(agent.parameter_count()));
  return config;
}

// One update's gradient: plays the batch's games with the episodes split over the threads.
class CatchBatchGradient {
 public:
  CatchBatchGradient(const CatchAgent<float>& agent, const CatchTrainingConfig& config,
                     ThreadPool& pool)
      : agent_(agent),
        config_(config),
        pool_(pool),
        games_(config.batch_size),
        draws_(static_cast<std::size_t>(config.batch_size) * kDraws),
        workspaces_(pool.size()),
        grads_(pool.size(), AlignedVector<float>(agent.parameter_count())),
        sums_(pool.size()) {}

  CatchLossSums compute(const float* params, std::uint64_t update) {
    const int rows = config_.batch_size, threads = pool_.size();
    const float scale = 1.0f / static_cast<float>(rows);
    pool_.run(threads, [&](int k, int) {
      const int lo = rows * k / threads, hi = rows * (k + 1) / threads;
      std::fill(grads_[k].begin(), grads_[k].end(), 0.0f);
      sums_[k] = CatchLossSums{};
      if (hi == lo) return;
      for (int e = lo; e < hi; ++e) {
        Rng game_rng(config_.seed, {kGameKey, update, static_cast<std::uint64_t>(e)});
        games_.reset(e, game_rng);
        Rng noise_rng(config_.seed, {kNoiseKey, update, static_cast<std::uint64_t>(e)});
        fill_draws(noise_rng, draws_.data() + static_cast<std::size_t>(e) * kDraws);
      }
      CatchWorkspace<float>& ws = workspaces_[k];
      agent_.play(params, games_, lo, hi - lo, CatchPolicy::sample,
                  draws_.data() + static_cast<std::size_t>(lo) * kDraws, config_.loss, ws);
      sums_[k] = agent_.loss_sums(ws);
      agent_.backward(params, config_.loss, scale, ws, grads_[k].data());
    });
    add_thread_gradients(grads_, pool_);
    CatchLossSums total;
    for (const auto& s : sums_) total += s;
    return total;
  }

  AlignedVector<float>& gradient() { return grads_[0]; }

 private:
  const CatchAgent<float>& agent_;
  const CatchTrainingConfig& config_;
  ThreadPool& pool_;
  CatchGames games_;
  std::vector<float> draws_;
  std::vector<CatchWorkspace<float>> workspaces_;
  std::vector<AlignedVector<float>> grads_;
  std::vector<CatchLossSums> sums_;
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
}

nlohmann::json to_json(const CatchTrainingConfig& c) {
  return {{"kind", "catch"},
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
  });
  validate(c);
  return c;
}

SavedCatchAgent load_catch_agent(const std::string& path) {
  return saved_catch_agent(load_checkpoint(path), path);
}

SavedCatchAgent saved_catch_agent(const Checkpoint& c, const std::string& path) {
  SavedCatchAgent saved;
  saved.config = checked_config(path, c);
  saved.parameters = c.parameters;
  saved.updates = c.step;
  return saved;
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
                             const CatchTrainCallbacks& callbacks) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  validate(config);
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
    params.assign(saved->parameters.begin(), saved->parameters.end());
    optimizer.restore(saved->optimizer_state, saved->step, 0);  // a Catch run never skips
    if (saved->step > total_updates)
      throw Error(checkpoint_path + ": its position (update " + std::to_string(saved->step) +
                  ") is past the run's " + std::to_string(total_updates) + " updates");
    read_json(checkpoint_path + ": training progress is unreadable: ", [&] {
      const auto progress = nlohmann::json::parse(saved->progress_json);
      for (const auto& m : progress.at("metrics")) history.push_back(catch_metrics_from_json(m));
      interval = catch_sums_from_json(progress.at("interval_sums"));
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
  CatchBatchGradient batch_gradient(agent, config, pool);
  std::deque<std::pair<double, double>> recent;  // (caught, episodes) per update
  double recent_caught = 0, recent_episodes = 0;
  auto interval_start = Clock::now();
  // The rate counts this process's episodes only: a resumed interval's restored sums took no
  // time here.
  double interval_episodes_before = interval.episodes;
  const std::uint64_t first_update = optimizer.steps_taken();

  for (std::uint64_t u = first_update; u < total_updates; ++u) {
    const CatchLossSums sums = batch_gradient.compute(params.data(), u);
    auto stop = [&](const std::string& what) {
      throw Error("training stopped: " + what + " at update " + std::to_string(u + 1) +
                  (checkpoint_path.empty()
                       ? std::string()
                       : "; the last checkpoint " + checkpoint_path + " is kept"));
    };
    if (!std::isfinite(sums.total(config.loss))) stop("the loss is not finite");
    const StepResult update = optimizer.step(params, batch_gradient.gradient(), &pool);
    if (!std::isfinite(update.gradient_norm)) stop("the gradient is not finite");
    if (!update.parameters_finite) stop("a parameter is not finite after the update");
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
        write_metrics((std::filesystem::path(out_dir) / kMetricsFile).string(), history);
      }
      if (callbacks.report_done) callbacks.report_done(m);
    }
    if (!last && callbacks.stop_requested && callbacks.stop_requested()) {
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
  for (int i = 0; i < count; ++i) {
    Rng rng(seed, {kGameKey, static_cast<std::uint64_t>(first + i)});
    games.reset(i, rng);
  }
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
