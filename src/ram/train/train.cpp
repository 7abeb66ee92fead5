#include "ram/train/train.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <optional>
#include <tuple>

#include "ram/run/checkpoint.h"
#include "ram/run/run_directory.h"
#include "ram/run/thread_gradients.h"
#include "ram/util/error.h"
#include "ram/util/json_fields.h"
#include "ram/util/rng.h"
#include "ram/util/thread_pool.h"

namespace ram {

namespace {

// Keys that separate the random streams of one seed.
constexpr std::uint64_t kShuffleKey = 0x5f1, kRenderKey = 0x4e0, kNoiseKey = 0x401;

void require(bool ok, const std::string& message) {
  if (!ok) throw Error("training configuration: " + message);
}

nlohmann::json to_json(const TaskConfig& t) {
  return {{"kind", to_string(t.kind)},
          {"canvas", t.canvas},
          {"clutter_pieces", t.clutter_pieces},
          {"clutter_size", t.clutter_size}};
}

constexpr const char* kMetricsColumns[] = {"epoch",
                                           "steps",
                                           "loss",
                                           "cross_entropy",
                                           "reinforce",
                                           "baseline",
                                           "train_error",
                                           "validation_error",
                                           "learning_rate",
                                           "seconds",
                                           "images_per_second",
                                           "skipped_batches",
                                           "train_glimpses",
                                           "validation_glimpses",
                                           "state_l1_mean",
                                           "state_l1_max",
                                           "advantage_max",
                                           "saturated_means"};
// The columns from this one on were added after metrics files and checkpoints were first
// written: a file without one reads it as 0 ("not recorded").
constexpr std::size_t kFirstLaterMetricsColumn = 11;  // skipped_batches

// The fields of m in the order of kMetricsColumns.
auto metrics_fields(EpochMetrics& m) {
  return std::tuple<int&, std::uint64_t&, double&, double&, double&, double&, double&, double&,
                    double&, double&, double&, std::uint64_t&, double&, double&, double&, double&,
                    double&, double&>(
      m.epoch, m.steps, m.loss, m.cross_entropy, m.reinforce, m.baseline, m.train_error,
      m.validation_error, m.learning_rate, m.seconds, m.images_per_second, m.skipped_batches,
      m.train_glimpses, m.validation_glimpses, m.state_l1_mean, m.state_l1_max, m.advantage_max,
      m.saturated_means);
}

// Calls f(column index, column name, field) for every field of m, in column order.
template <typename F>
void for_each_metric(EpochMetrics& m, F&& f) {
  std::size_t i = 0;
  std::apply([&](auto&... field) { ((f(i, kMetricsColumns[i], field), ++i), ...); },
             metrics_fields(m));
}

// Checkpoints carry the history under the CSV's column names.
nlohmann::json to_json(EpochMetrics m) {
  nlohmann::json j = nlohmann::json::object();
  for_each_metric(m, [&](std::size_t, const char* name, auto& field) { j[name] = field; });
  return j;
}

EpochMetrics epoch_metrics_from_json(const nlohmann::json& j) {
  EpochMetrics m;
  for_each_metric(m, [&](std::size_t i, const char* name, auto& field) {
    using T = std::remove_reference_t<decltype(field)>;
    field = i >= kFirstLaterMetricsColumn ? json_field_or<T>(j, name, T{}) : json_field<T>(j, name);
  });
  return m;
}

void write_metrics(const std::string& path, const std::vector<EpochMetrics>& epochs) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    for (std::size_t i = 0; i < std::size(kMetricsColumns); ++i)
      out << (i ? "," : "") << kMetricsColumns[i];
    out << '\n';
    for (EpochMetrics m : epochs) {
      for_each_metric(
          m, [&](std::size_t i, const char*, auto& field) { out << (i ? "," : "") << field; });
      out << '\n';
    }
    if (!out) throw Error(path + ": cannot write the metrics file");
  }
  std::filesystem::rename(tmp, path);
}

std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> cells;
  std::size_t begin = 0;
  while (true) {
    const std::size_t comma = line.find(',', begin);
    cells.push_back(line.substr(begin, comma - begin));
    if (comma == std::string::npos) return cells;
    begin = comma + 1;
  }
}

// The whole cell as a number of type T, or nullopt.
template <typename T>
std::optional<T> parse_number(const std::string& cell) {
  T value{};
  const char* end = cell.data() + cell.size();
  const auto [ptr, ec] = std::from_chars(cell.data(), end, value);
  if (ec != std::errc() || ptr != end || cell.empty()) return std::nullopt;
  return value;
}

nlohmann::json to_json(const LossSums& s) {
  return {{"cross_entropy", s.cross_entropy},
          {"reinforce", s.reinforce},
          {"baseline", s.baseline},
          {"correct", s.correct},
          {"images", s.images},
          {"glimpses", s.glimpses},
          {"state_l1", s.state_l1},
          {"state_l1_max", s.state_l1_max},
          {"advantage_max", s.advantage_max},
          {"saturated_means", s.saturated_means},
          {"policy_means", s.policy_means}};
}

LossSums loss_sums_from_json(const nlohmann::json& j) {
  LossSums s;
  s.cross_entropy = json_field<double>(j, "cross_entropy");
  s.reinforce = json_field<double>(j, "reinforce");
  s.baseline = json_field<double>(j, "baseline");
  s.correct = json_field<double>(j, "correct");
  s.images = json_field<double>(j, "images");
  // Absent from older checkpoints.
  s.glimpses = json_field_or<double>(j, "glimpses", 0.0);
  s.state_l1 = json_field_or<double>(j, "state_l1", 0.0);
  s.state_l1_max = json_field_or<double>(j, "state_l1_max", 0.0);
  s.advantage_max = json_field_or<double>(j, "advantage_max", 0.0);
  s.saturated_means = json_field_or<double>(j, "saturated_means", 0.0);
  s.policy_means = json_field_or<double>(j, "policy_means", 0.0);
  return s;
}

// The position is (completed epochs, optimiser steps); a checkpoint written mid-epoch also
// carries the epoch's running loss sums so that its metrics come out as if never interrupted.
Checkpoint make_checkpoint(const TrainingConfig& config, const AlignedVector<float>& params,
                           const Optimizer& optimizer, int epochs_done,
                           const std::vector<EpochMetrics>& history, const LossSums& epoch_sums,
                           std::uint64_t epoch_skipped) {
  Checkpoint c;
  c.config_json = to_json(config).dump();
  c.parameters.assign(params.begin(), params.end());
  c.optimizer_json = to_json(config.optimizer).dump();
  c.optimizer_state = optimizer.state();
  c.epoch = static_cast<std::uint64_t>(epochs_done);
  c.step = optimizer.steps_taken();
  nlohmann::json metrics = nlohmann::json::array();
  for (const auto& m : history) metrics.push_back(to_json(m));
  c.progress_json = nlohmann::json{
      {"metrics", metrics},
      {"epoch_sums", to_json(epoch_sums)},
      {"epoch_skipped",
       epoch_skipped}}.dump();
  return c;
}

// Computes the gradient of one mini-batch: renders its images (each M times), draws the location
// noise, and runs forward and backward with the rows split over the pool's threads, each into its
// own gradient buffer; the buffers are then added in thread order, so the result depends on the
// seed and the thread count only.
template <typename Model>
class BatchGradient {
 public:
  BatchGradient(const Model& model, const TrainingConfig& config, const ImageSet& train,
                ThreadPool& pool)
      : model_(model),
        config_(config),
        train_(train),
        pool_(pool),
        mode_(config.random_glimpses ? LocationMode::uniform : LocationMode::sample),
        canvas_pixels_(static_cast<std::size_t>(config.task.canvas) * config.task.canvas),
        canvases_(static_cast<std::size_t>(config.batch_size) * config.monte_carlo *
                  canvas_pixels_),
        labels_(static_cast<std::size_t>(config.batch_size) * config.monte_carlo),
        draws_(labels_.size() * static_cast<std::size_t>(model.draws_per_image())),
        workspaces_(pool.size()),
        grads_(pool.size(), AlignedVector<float>(model.parameter_count())),
        sums_(pool.size()) {}

  // images: indices into the training set; step keys the random draws. Returns the loss sums;
  // gradient() then holds d(mean loss)/d(params).
  LossSums compute(const float* params, std::span<const std::size_t> images, std::uint64_t step) {
    const int M = config_.monte_carlo, threads = pool_.size();
    const int rows = static_cast<int>(images.size()) * M;
    const float scale = 1.0f / static_cast<float>(rows);
    const std::size_t draws_per_row = static_cast<std::size_t>(model_.draws_per_image());
    pool_.run(threads, [&](int k, int) {
      const int lo = rows * k / threads, hi = rows * (k + 1) / threads;
      std::fill(grads_[k].begin(), grads_[k].end(), 0.0f);
      sums_[k] = LossSums{};
      if (hi == lo) return;
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
      auto& ws = workspaces_[k];
      model_.forward(params, canvases_.data() + lo * canvas_pixels_, hi - lo, mode_,
                     draws_.data() + lo * draws_per_row, ws);
      model_.assign_rewards(labels_.data() + lo, ws);
      sums_[k] = model_.loss_sums(labels_.data() + lo, ws);
      model_.backward(params, labels_.data() + lo, config_.loss, scale, ws, grads_[k].data());
    });
    add_thread_gradients(grads_, pool_);
    LossSums total;
    for (const LossSums& s : sums_) total += s;
    return total;
  }

  AlignedVector<float>& gradient() { return grads_[0]; }

 private:
  const Model& model_;
  const TrainingConfig& config_;
  const ImageSet& train_;
  ThreadPool& pool_;
  const LocationMode mode_;
  const std::size_t canvas_pixels_;
  std::vector<float> canvases_;                                 // rows x canvas^2
  std::vector<std::uint8_t> labels_;                            // rows
  std::vector<float> draws_;                                    // rows x T x 2
  std::vector<typename WorkspaceFor<Model>::type> workspaces_;  // one per thread
  std::vector<AlignedVector<float>> grads_;                     // one per thread; [0] holds the sum
  std::vector<LossSums> sums_;                                  // one per thread
};

}  // namespace

void validate(const TrainingConfig& c) {
  require(c.architecture == "ram" || is_baseline_architecture(c.architecture),
          "unknown architecture '" + c.architecture + "' (known: ram, fc64, fc256, conv)");
  require(c.conv_filters >= 1 && c.conv_filters <= 1024, "conv filters must be in 1..1024");
  require(c.architecture == "ram" || !c.random_glimpses,
          "random glimpses apply to RAM only, not to the " + c.architecture + " baseline");
  validate(c.model);
  if (c.architecture != "ram") validate(baseline_config(c));
  validate(c.optimizer);
  require(c.epochs >= 1 && c.epochs <= 1000000, "epochs must be in 1..1000000");
  require(c.batch_size >= 1 && c.batch_size <= 65536, "batch size must be in 1..65536");
  require(c.monte_carlo >= 1 && c.monte_carlo <= 1024, "Monte-Carlo samples must be in 1..1024");
  require(c.eval_samples >= 1 && c.eval_samples <= 1024, "evaluation samples must be in 1..1024");
  require(c.threads >= 1 && c.threads <= 256, "threads must be in 1..256");
  require(std::isfinite(c.init_range) && c.init_range > 0 && c.init_range <= 10,
          "init range must be in (0, 10]");
  require(std::isfinite(c.loss.reinforce) && c.loss.reinforce >= 0 &&
              std::isfinite(c.loss.baseline) && c.loss.baseline >= 0,
          "loss weights must be finite and >= 0");
  require(c.task.canvas == c.model.image_height && c.task.canvas == c.model.image_width,
          "the task's canvas (" + std::to_string(c.task.canvas) +
              ") must equal the model's image size (" + std::to_string(c.model.image_height) + "x" +
              std::to_string(c.model.image_width) + ")");
  validate(c.task, 28, 28);
}

nlohmann::json to_json(const TrainingConfig& c) {
  return {{"architecture", c.architecture},
          {"conv_filters", c.conv_filters},
          {"model", to_json(c.model)},
          {"task", to_json(c.task)},
          {"optimizer", to_json(c.optimizer)},
          {"loss", {{"reinforce", c.loss.reinforce}, {"baseline", c.loss.baseline}}},
          {"data", c.data},
          {"epochs", c.epochs},
          {"batch_size", c.batch_size},
          {"monte_carlo", c.monte_carlo},
          {"random_glimpses", c.random_glimpses},
          {"threads", c.threads},
          {"seed", c.seed},
          {"init_range", c.init_range},
          {"eval_samples", c.eval_samples},
          {"validation_seed", c.validation_seed},
          {"skip_nonfinite_batches", c.skip_nonfinite_batches},
          {"checkpoint_every", c.checkpoint_every}};
}

TrainingConfig training_config_from_json(const nlohmann::json& j) {
  TrainingConfig c;
  read_json("training configuration: ", [&] {
    // Files written before the baselines existed hold RAM models and have neither field.
    c.architecture = json_field_or<std::string>(j, "architecture", "ram");
    c.conv_filters = json_field_or<int>(j, "conv_filters", 16);
    c.model = model_config_from_json(j.at("model"));
    const auto& t = j.at("task");
    c.task.kind = task_kind_from_string(json_field<std::string>(t, "kind"));
    c.task.canvas = json_field<int>(t, "canvas");
    c.task.clutter_pieces = json_field<int>(t, "clutter_pieces");
    c.task.clutter_size = json_field<int>(t, "clutter_size");
    c.optimizer = optimizer_config_from_json(j.at("optimizer"));
    c.loss.reinforce = json_field<double>(j.at("loss"), "reinforce");
    c.loss.baseline = json_field<double>(j.at("loss"), "baseline");
    c.data = json_field<std::string>(j, "data");
    c.epochs = json_field<int>(j, "epochs");
    c.batch_size = json_field<int>(j, "batch_size");
    c.monte_carlo = json_field<int>(j, "monte_carlo");
    c.random_glimpses = json_field<bool>(j, "random_glimpses");
    c.threads = json_field<int>(j, "threads");
    c.seed = json_field<std::uint64_t>(j, "seed");
    c.init_range = json_field<double>(j, "init_range");
    c.eval_samples = json_field<int>(j, "eval_samples");
    c.validation_seed = json_field<std::uint64_t>(j, "validation_seed");
    c.skip_nonfinite_batches = json_field_or<bool>(j, "skip_nonfinite_batches", false);
    c.checkpoint_every = json_field_or<std::uint64_t>(j, "checkpoint_every", 0);
  });
  validate(c);
  return c;
}

namespace {

// The training configuration a checkpoint holds, checked against its parameter count.
TrainingConfig checked_config(const std::string& path, const Checkpoint& c) {
  TrainingConfig config;
  try {
    const auto j = nlohmann::json::parse(c.config_json);
    if (j.is_object() && j.contains("kind") && j["kind"] == "catch")
      throw Error("is a Catch agent, not a classification model (use `ram catch eval`)");
    config = training_config_from_json(j);
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
  if (c.parameters.size() != parameter_count(config))
    throw Error(path + ": the file holds " + std::to_string(c.parameters.size()) +
                " parameters but its configuration needs " +
                std::to_string(parameter_count(config)));
  return config;
}

// Calls f with the model a configuration describes.
template <typename F>
decltype(auto) with_model(const TrainingConfig& config, F&& f) {
  if (config.architecture == "ram") return f(RamModel<float>(config.model));
  return f(BaselineModel<float>(baseline_config(config)));
}

}  // namespace

SavedModel load_model(const std::string& path) {
  return saved_model(load_checkpoint(path), path);
}

SavedModel saved_model(const Checkpoint& c, const std::string& path) {
  SavedModel saved;
  saved.config = checked_config(path, c);
  saved.parameters = c.parameters;
  read_json(path + ": training progress is unreadable: ", [&] {
    if (c.progress_json.empty()) return;
    const auto progress = nlohmann::json::parse(c.progress_json);
    for (const auto& m : progress.at("metrics"))
      saved.history.push_back(epoch_metrics_from_json(m));
  });
  saved.epoch = c.epoch;
  saved.step = c.step;
  return saved;
}

std::vector<EpochMetrics> read_metrics(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(path + ": cannot open the metrics file");
  std::string line;
  if (!std::getline(in, line)) throw Error(path + ": empty metrics file (no header line)");
  // column_of[i]: which cell of a line holds kMetricsColumns[i].
  const std::vector<std::string> header = split_csv_line(line);
  std::vector<std::size_t> column_of;
  for (const char* name : kMetricsColumns) {
    const auto it = std::find(header.begin(), header.end(), name);
    const bool later = column_of.size() >= kFirstLaterMetricsColumn;
    if (it == header.end() && !later)
      throw Error(path + ": the header has no column \"" + std::string(name) + "\"");
    column_of.push_back(static_cast<std::size_t>(it - header.begin()));  // header.size(): absent
  }
  std::vector<EpochMetrics> epochs;
  for (int line_number = 2; std::getline(in, line); ++line_number) {
    if (line.empty()) continue;
    const std::vector<std::string> cells = split_csv_line(line);
    const std::string where = path + ":" + std::to_string(line_number) + ": ";
    if (cells.size() != header.size())
      throw Error(where + std::to_string(cells.size()) + " values for " +
                  std::to_string(header.size()) + " columns");
    EpochMetrics m;
    for_each_metric(m, [&](std::size_t i, const char* name, auto& field) {
      using T = std::remove_reference_t<decltype(field)>;
      if (column_of[i] == header.size()) return;  // a later column this file lacks: 0
      const std::string& cell = cells[column_of[i]];
      const std::optional<T> parsed = parse_number<T>(cell);
      if (!parsed) throw Error(where + "\"" + cell + "\" is not a number (column " + name + ")");
      field = *parsed;
    });
    epochs.push_back(m);
  }
  return epochs;
}

BaselineConfig baseline_config(const TrainingConfig& config) {
  BaselineConfig b;
  b.architecture = config.architecture;
  b.image_height = config.model.image_height;
  b.image_width = config.model.image_width;
  b.classes = config.model.classes;
  b.conv_filters = config.conv_filters;
  return b;
}

std::size_t parameter_count(const TrainingConfig& config) {
  return parameter_layout(config).total();
}

ParamLayout parameter_layout(const TrainingConfig& config) {
  return with_model(config, [](const auto& model) { return model.layout(); });
}

double forward_flops(const TrainingConfig& config) {
  return with_model(config, [](const auto& model) { return model.forward_flops(); });
}

void initialize_parameters(const TrainingConfig& config, std::span<float> params) {
  with_model(config,
             [&](const auto& model) { model.initialize(params, config.seed, config.init_range); });
}

EvalResult evaluate_trained(const TrainingConfig& config, std::span<const float> params,
                            const ImageSet& images, const EvalOptions& options, ThreadPool& pool) {
  return with_model(
      config, [&](const auto& model) { return evaluate(model, params, images, options, pool); });
}

ImageSet render_evaluation_set(const TrainingConfig& config, const ImageSet& digits) {
  validate(config.task, digits.rows, digits.cols);
  return render_task_set(config.task, digits, config.validation_seed);
}

EvalOptions evaluation_options(const TrainingConfig& config, bool mean_location, int samples) {
  EvalOptions o;
  o.mode = config.random_glimpses ? LocationMode::uniform
           : mean_location        ? LocationMode::mean
                                  : LocationMode::sample;
  o.samples = samples;
  o.seed = config.validation_seed;
  return o;
}

namespace {

template <typename Model>
TrainResult train_model(const Model& model, const TrainingConfig& config,
                        const TrainValidation& data, const std::string& out_dir,
                        const std::optional<Checkpoint>& saved, const std::string& checkpoint_path,
                        const TrainCallbacks& callbacks,
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
  if (saved) {
    params.assign(saved->parameters.begin(), saved->parameters.end());
    first_epoch = static_cast<int>(saved->epoch);
    if (saved->step < saved->epoch * batches || saved->step > (saved->epoch + 1) * batches)
      throw Error(checkpoint_path + ": its position (epoch " + std::to_string(saved->epoch) +
                  ", step " + std::to_string(saved->step) + ") does not fit " +
                  std::to_string(batches) + " batches per epoch: was the training set changed?");
    first_batch = saved->step - saved->epoch * batches;
    read_json(checkpoint_path + ": training progress is unreadable: ", [&] {
      const auto progress_json = nlohmann::json::parse(saved->progress_json);
      for (const auto& m : progress_json.at("metrics"))
        history.push_back(epoch_metrics_from_json(m));
      resumed_sums = loss_sums_from_json(progress_json.at("epoch_sums"));
      resumed_skipped = json_field_or<std::uint64_t>(progress_json, "epoch_skipped", 0);
    });
    std::uint64_t skipped = resumed_skipped;
    for (const EpochMetrics& m : history) skipped += m.skipped_batches;
    optimizer.restore(saved->optimizer_state, saved->step, skipped);
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

  // The end of the message when training stops on bad numbers.
  auto what_is_kept = [&]() -> std::string {
    if (checkpoint_path.empty()) return "";
    if (!std::filesystem::exists(checkpoint_path))
      return "; no checkpoint had been written yet in " + out_dir;
    return "; the last checkpoint " + checkpoint_path + " is kept";
  };

  ThreadPool pool(config.threads);
  BatchGradient<Model> batch_gradient(model, config, data.train, pool);
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
          batch_gradient.compute(params.data(), {order.data() + first, count}, step);
      auto stop = [&](const std::string& what) {
        throw Error("training stopped: " + what + " at epoch " + std::to_string(epoch + 1) +
                    ", batch " + std::to_string(b + 1) + what_is_kept());
      };
      const bool loss_finite = std::isfinite(batch_sums.total(config.loss));
      if (!loss_finite && !config.skip_nonfinite_batches) stop("the loss is not finite");
      StepResult update;
      if (loss_finite) update = optimizer.step(params, batch_gradient.gradient(), &pool);
      if (loss_finite && std::isfinite(update.gradient_norm)) {
        if (!update.parameters_finite) stop("a parameter is not finite after the update");
        epoch_sums += batch_sums;
      } else {
        // Nothing was updated (the optimiser leaves parameters alone on a non-finite gradient).
        if (!config.skip_nonfinite_batches) stop("the gradient is not finite");
        optimizer.skip_step();
        ++epoch_skipped;
      }
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
        p.train_accuracy = epoch_sums.images > 0 ? epoch_sums.correct / epoch_sums.images : 0;
        callbacks.batch_done(p);
      }
      if (callbacks.stop_requested && callbacks.stop_requested()) {
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
                  " had a non-finite loss or gradient" + what_is_kept());
    const EvalResult val = evaluate(model, params, validation, eval_options, pool);

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
      write_metrics((std::filesystem::path(out_dir) / kMetricsFile).string(), history);
    }
    if (callbacks.epoch_done) callbacks.epoch_done(m);
  }
  if (!out_dir.empty())
    save_model_file(out_dir,
                    make_checkpoint(config, params, optimizer, config.epochs, history, {}, 0));
  return finish(/*interrupted=*/false);
}

// A resumed run cannot end before the epochs it has already completed; `where` names the run.
void require_epochs_reached(const std::string& where, std::uint64_t completed,
                            std::int64_t epochs) {
  if (epochs < static_cast<std::int64_t>(completed))
    throw Error(where + ": the run has completed " + std::to_string(completed) +
                " epochs, so it cannot end after " + std::to_string(epochs));
}

}  // namespace

TrainingConfig resumed_config(const SavedModel& saved, const ResumeSettings& settings) {
  TrainingConfig config = saved.config;
  if (settings.threads) config.threads = *settings.threads;
  if (settings.checkpoint_every) config.checkpoint_every = *settings.checkpoint_every;
  if (settings.epochs) {
    require_epochs_reached("resume", saved.epoch, *settings.epochs);
    config.epochs = static_cast<int>(*settings.epochs);
  }
  return config;
}

TrainResult train(const TrainingConfig& config, const TrainValidation& data,
                  const std::string& out_dir, RunStart run_start, const TrainCallbacks& callbacks) {
  const RunDirectory directory(out_dir, run_start);
  return train(config, data, directory, callbacks);
}

TrainResult train(const TrainingConfig& config, const TrainValidation& data,
                  const RunDirectory& directory, const TrainCallbacks& callbacks) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  validate(config);
  validate(config.task, data.train.rows, data.train.cols);
  if (data.train.size() == 0 || data.validation.size() == 0)
    throw Error("training: the training and validation sets must not be empty");
  const std::string& checkpoint_path = directory.checkpoint_path();
  const std::optional<Checkpoint>& saved = directory.resumed();
  if (saved) {
    require_same_run(checkpoint_path, to_json(checked_config(checkpoint_path, *saved)),
                     to_json(config), {"/threads", "/checkpoint_every", "/epochs"});
    require_epochs_reached(checkpoint_path, saved->epoch, config.epochs);
  }
  directory.begin_run();
  return with_model(config, [&](const auto& model) {
    return train_model(model, config, data, directory.path(), saved, checkpoint_path, callbacks,
                       start);
  });
}

}  // namespace ram
