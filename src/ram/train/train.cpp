#include "ram/train/train.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <numeric>
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
constexpr std::uint64_t kShuffleKey = 0x5f1, kRenderKey = 0x4e0, kNoiseKey = 0x401;

// The position is (completed epochs, optimiser steps); a checkpoint written mid-epoch also

// The position is (completed epochs, optimiser steps); a checkpoint written mid-epoch also
// carries the epoch's running loss sums so that its metrics come out as if never interrupted.
Checkpoint make_checkpoint(const TrainingConfig& config, const AlignedVector<float>& params,
                           const Optimizer& optimizer, int epochs_done,
                           const std::vector<EpochMetrics>& history, const LossSums& epoch_sums,
                           std::uint64_t epoch_skipped) {
  const nlohmann::json progress{{"metrics", metrics_to_json(history)},
                                {"epoch_sums", metrics_to_json(epoch_sums)},
                                {"epoch_skipped", epoch_skipped}};
  return training_checkpoint(to_json(config), params, optimizer,
                             static_cast<std::uint64_t>(epochs_done), progress);
}

// Computes the gradient of one mini-batch: renders its images (each M times), draws the location
// noise, and runs forward and backward with the rows split over the threads (DataParallelGradient).
template <typename Model>
class BatchGradient {
 public:
  BatchGradient(const Model& model, const TrainingConfig& config, const ImageSet& train,
                ThreadPool& pool, const Processes& processes)
      : model_(model),
        config_(config),
        train_(train),
        mode_(config.random_glimpses ? LocationMode::uniform : LocationMode::sample),
        canvas_pixels_(static_cast<std::size_t>(config.task.canvas) * config.task.canvas),
        canvases_(static_cast<std::size_t>(config.batch_size) * config.monte_carlo *
                  canvas_pixels_),
        labels_(static_cast<std::size_t>(config.batch_size) * config.monte_carlo),
        draws_(labels_.size() * static_cast<std::size_t>(model.draws_per_image())),
        threads_(model.parameter_count(), pool, processes) {}

  // images: indices into the training set; step keys the random draws; location_std is the
  // policy's std for this batch (annealed; RAM only). Returns the loss sums; gradient() then
  // holds d(mean loss)/d(params).
  LossSums compute(const float* params, std::span<const std::size_t> images, std::uint64_t step,
                   double location_std) {
    const int M = config_.monte_carlo;
    const int rows = static_cast<int>(images.size()) * M;
    const float scale = 1.0f / static_cast<float>(rows);
    const std::size_t draws_per_row = static_cast<std::size_t>(model_.draws_per_image());
    return threads_.compute(rows, [&](int lo, int hi, Workspace& ws, float* grad) {
      for (int r = lo; r < hi; ++r) {
        const int j = r / M;  // the M copies of an image share its placement and clutter
        Rng render_rng(config_.seed, {kRenderKey, step, static_cast<std::uint64_t>(j)});
        render_task(config_.task, train_, images[j], render_rng,
                    {canvases_.data() + r * canvas_pixels_, canvas_pixels_});
        labels_[r] = train_.labels[images[j]];
        Rng noise_rng(config_.seed, {kNoiseKey, step, static_cast<std::uint64_t>(r)});
        float* d = draws_.data() + r * draws_per_row;
        for (std::size_t q = 0; q < draws_per_row; ++q)
          d[q] = static_cast<float>(mode_ == LocationMode::uniform ? noise_rng.uniform(-1, 1)
                                                                   : noise_rng.normal());
      }
      if constexpr (requires { ws.location_std; }) ws.location_std = location_std;
      model_.forward(params, canvases_.data() + lo * canvas_pixels_, hi - lo, mode_,
                     draws_.data() + lo * draws_per_row, ws);
      model_.assign_rewards(labels_.data() + lo, ws);
      const LossSums sums = model_.loss_sums(labels_.data() + lo, ws);
      model_.backward(params, labels_.data() + lo, config_.loss, scale, ws, grad);
      return sums;
    });
  }

  AlignedVector<float>& gradient() { return threads_.gradient(); }

 private:
  using Workspace = typename WorkspaceFor<Model>::type;
  const Model& model_;
  const TrainingConfig& config_;
  const ImageSet& train_;
  const LocationMode mode_;
  const std::size_t canvas_pixels_;
  std::vector<float> canvases_;       // rows x canvas^2
  std::vector<std::uint8_t> labels_;  // rows
  std::vector<float> draws_;          // rows x T x 2
  DataParallelGradient<Workspace, LossSums> threads_;
};

template <typename Model>
TrainResult train_model(const Model& model, const TrainingConfig& config,
                        const TrainValidation& data, const RunDirectory& directory,
                        const TrainCallbacks& callbacks, const Processes& processes,
                        std::chrono::steady_clock::time_point start) {
  using Clock = std::chrono::steady_clock;
  const std::size_t n_train = data.train.size();
  const int B = config.batch_size, M = config.monte_carlo;
  const std::uint64_t batches = std::max<std::uint64_t>(1, n_train / static_cast<std::uint64_t>(B));
  const std::uint64_t total_steps = batches * static_cast<std::uint64_t>(config.epochs);

  AlignedVector<float> params(model.parameter_count());
  model.initialize(params, config.seed, config.init_range);
  Optimizer optimizer(config.optimizer, params.size(), total_steps);
  std::vector<EpochMetrics> history;
  int first_epoch = 0;
  std::uint64_t first_batch = 0;
  LossSums resumed_sums;              // of the epoch the checkpoint interrupted
  std::uint64_t resumed_skipped = 0;  // likewise
  const std::string& out_dir = directory.path();
  const std::string& checkpoint_path = directory.checkpoint_path();
  if (const std::optional<Checkpoint>& saved = directory.resumed()) {
    first_epoch = static_cast<int>(saved->epoch);
    if (saved->step < saved->epoch * batches || saved->step > (saved->epoch + 1) * batches)
      throw Error(checkpoint_path + ": its position (epoch " + std::to_string(saved->epoch) +
                  ", step " + std::to_string(saved->step) + ") does not fit " +
                  std::to_string(batches) + " batches per epoch: was the training set changed?");
    first_batch = saved->step - saved->epoch * batches;
    read_progress(*saved, checkpoint_path, [&](const nlohmann::json& progress) {
      history = metrics_from_json_array<EpochMetrics>(progress.at("metrics"));
      resumed_sums = metrics_from_json<LossSums>(progress.at("epoch_sums"));
      resumed_skipped = json_field_or<std::uint64_t>(progress, "epoch_skipped", 0);
    });
    std::uint64_t skipped = resumed_skipped;
    for (const EpochMetrics& m : history) skipped += m.skipped_batches;
    restore_training(*saved, params, optimizer, skipped);
  }

  const ImageSet validation = render_evaluation_set(config, data.validation);
  const EvalOptions eval_options = evaluation_options(config, false, config.eval_samples);

  auto finish = [&](bool interrupted) {
    TrainResult result;
    result.epochs = std::move(history);
    result.parameters.assign(params.begin(), params.end());
    result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    result.interrupted = interrupted;
    return result;
  };

  ThreadPool pool(config.threads);
  BatchGradient<Model> batch_gradient(model, config, data.train, pool, processes);
  std::vector<std::size_t> order(n_train);

  for (int epoch = first_epoch; epoch < config.epochs; ++epoch) {
    const auto epoch_start = Clock::now();
    std::iota(order.begin(), order.end(), std::size_t{0});
    Rng shuffle_rng(config.seed, {kShuffleKey, static_cast<std::uint64_t>(epoch)});
    for (std::size_t i = n_train; i > 1; --i) std::swap(order[i - 1], order[shuffle_rng.below(i)]);

    const bool resumed_epoch = epoch == first_epoch;
    LossSums epoch_sums = resumed_epoch ? resumed_sums : LossSums{};
    std::uint64_t epoch_skipped = resumed_epoch ? resumed_skipped : 0;
    // Rates count this process's images only: a resumed epoch's restored sums took no time here.
    const double images_before = epoch_sums.images;
    auto save_mid_epoch = [&] {
      save_checkpoint(checkpoint_path, make_checkpoint(config, params, optimizer, epoch, history,
                                                       epoch_sums, epoch_skipped));
    };
    for (std::uint64_t b = resumed_epoch ? first_batch : 0; b < batches; ++b) {
      const std::uint64_t step = static_cast<std::uint64_t>(epoch) * batches + b;
      const std::size_t first = b * B, count = std::min<std::size_t>(B, n_train - first);
      const LossSums batch_sums =
          batch_gradient.compute(params.data(), {order.data() + first, count}, step,
                                 location_std_at(config, step, total_steps));
      const StepOutcome outcome = take_step(
          optimizer, params, batch_gradient.gradient(), batch_sums.total(config.loss),
          config.skip_nonfinite_batches, pool, directory, [&] {
            return "epoch " + std::to_string(epoch + 1) + ", batch " + std::to_string(b + 1);
          });
      if (outcome == StepOutcome::applied)
        epoch_sums += batch_sums;
      else
        ++epoch_skipped;
      if (callbacks.batch_done) {
        Progress p;
        p.epoch = epoch + 1;
        p.epochs = config.epochs;
        p.batch = b + 1;
        p.batches = batches;
        const double elapsed = std::chrono::duration<double>(Clock::now() - epoch_start).count();
        p.images_per_second = elapsed > 0 ? (epoch_sums.images - images_before) / M / elapsed : 0;
        const double remaining_images =
            static_cast<double>((batches - b - 1) + batches * (config.epochs - epoch - 1)) * B;
        p.eta_seconds = p.images_per_second > 0 ? remaining_images / p.images_per_second : 0;
        p.loss = epoch_sums.images > 0 ? epoch_sums.total(config.loss) / epoch_sums.images : 0;
        p.train_error = epoch_sums.images > 0 ? 1 - epoch_sums.correct / epoch_sums.images : 0;
        callbacks.batch_done(p);
      }
      if (processes.any(callbacks.stop_requested && callbacks.stop_requested())) {
        if (!out_dir.empty()) save_mid_epoch();
        return finish(/*interrupted=*/true);
      }
      if (!out_dir.empty() && config.checkpoint_every > 0 && b + 1 < batches &&
          optimizer.steps_taken() % config.checkpoint_every == 0) {
        save_mid_epoch();
        if (callbacks.checkpoint_saved) callbacks.checkpoint_saved(optimizer.steps_taken());
      }
    }
    const auto train_end = Clock::now();
    if (epoch_sums.images == 0)
      throw Error("training stopped: every batch of epoch " + std::to_string(epoch + 1) +
                  " had a non-finite loss or gradient" + what_is_kept(directory));
    const EvalResult val = evaluate(model, params, validation, eval_options, pool, processes);

    EpochMetrics m;
    m.epoch = epoch + 1;
    m.steps = optimizer.steps_taken();
    m.loss = epoch_sums.total(config.loss) / epoch_sums.images;
    m.cross_entropy = epoch_sums.cross_entropy / epoch_sums.images;
    m.reinforce = epoch_sums.reinforce / epoch_sums.images;
    m.baseline = epoch_sums.baseline / epoch_sums.images;
    m.train_error = 1.0 - epoch_sums.correct / epoch_sums.images;
    m.validation_error = val.error();
    m.train_glimpses = epoch_sums.glimpses / epoch_sums.images;
    m.validation_glimpses = val.mean_glimpses();
    m.learning_rate = optimizer.learning_rate_at(optimizer.steps_taken());
    m.seconds = std::chrono::duration<double>(Clock::now() - epoch_start).count();
    m.images_per_second = (epoch_sums.images - images_before) / M /
                          std::chrono::duration<double>(train_end - epoch_start).count();
    m.skipped_batches = epoch_skipped;
    if (epoch_sums.glimpses > 0) m.state_l1_mean = epoch_sums.state_l1 / epoch_sums.glimpses;
    m.state_l1_max = epoch_sums.state_l1_max;
    m.advantage_max = epoch_sums.advantage_max;
    if (epoch_sums.policy_means > 0)
      m.saturated_means = epoch_sums.saturated_means / epoch_sums.policy_means;
    history.push_back(m);
    if (!out_dir.empty()) {
      save_checkpoint(checkpoint_path,
                      make_checkpoint(config, params, optimizer, epoch + 1, history, {}, 0));
      write_metrics_csv((std::filesystem::path(out_dir) / kMetricsFile).string(), history);
    }
    if (callbacks.epoch_done) callbacks.epoch_done(m);
  }
  if (!out_dir.empty())
    save_model_file(out_dir,
                    make_checkpoint(config, params, optimizer, config.epochs, history, {}, 0));
  return finish(/*interrupted=*/false);
}

}  // namespace

TrainResult train(const TrainingConfig& config, const TrainValidation& data,
                  const std::string& out_dir, RunStart run_start, const TrainCallbacks& callbacks,
                  const Processes& processes) {
  const RunDirectory directory(out_dir, run_start, processes);
  return train(config, data, directory, callbacks, processes);
}

TrainResult train(const TrainingConfig& config, const TrainValidation& data,
                  const RunDirectory& directory, const TrainCallbacks& callbacks,
                  const Processes& processes) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  validate(config);
  processes.require_same("the training configuration", to_json(config).dump());
  validate(config.task, data.train.rows, data.train.cols);
  if (data.train.size() == 0 || data.validation.size() == 0)
    throw Error("training: the training and validation sets must not be empty");
  const std::string& checkpoint_path = directory.checkpoint_path();
  const std::optional<Checkpoint>& saved = directory.resumed();
  if (saved) {
    require_same_run(checkpoint_path, to_json(saved_training_config(*saved, checkpoint_path)),
                     to_json(config), {"/threads", "/checkpoint_every", "/epochs"});
    require_epochs_reached(checkpoint_path, saved->epoch, config.epochs);
  }
  directory.begin_run();
  return with_model(config, [&](const auto& model) {
    return train_model(model, config, data, directory, callbacks, processes, start);
  });
}

}  // namespace ram
