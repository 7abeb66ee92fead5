#include "ram/train/training_config.h"

#include <algorithm>
#include <cmath>

#include "ram/util/error.h"
#include "ram/util/json_fields.h"

namespace ram {

namespace {

constexpr ConfigCheck require{"training configuration"};

nlohmann::json to_json(const TaskConfig& t) {
  return {{"kind", to_string(t.kind)},
          {"canvas", t.canvas},
          {"clutter_pieces", t.clutter_pieces},
          {"clutter_size", t.clutter_size}};
}

}  // namespace

void validate(const TrainingConfig& c) {
  require(c.architecture == "ram" || is_baseline_architecture(c.architecture),
          "unknown architecture '" + c.architecture + "' (known: ram, fc64, fc256, conv)");
  require(c.conv_filters >= 1 && c.conv_filters <= 1024, "conv filters must be in 1..1024");
  require(c.architecture == "ram" || !c.random_glimpses,
          "random glimpses apply to RAM only, not to the " + c.architecture + " baseline");
  require(std::isfinite(c.initial_std) && c.initial_std >= 0 && c.initial_std <= 10,
          "initial std must be 0 (off) or in (0, 10]");
  require(c.initial_std == 0 || (c.architecture == "ram" && !c.random_glimpses),
          "an annealed std needs RAM's location policy (not random glimpses or a baseline)");
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
  nlohmann::json j = {{"architecture", c.architecture},
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
  // Only when on, so that other configurations read exactly as before.
  if (c.initial_std > 0) j["initial_std"] = c.initial_std;
  return j;
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
    c.initial_std = json_field_or<double>(j, "initial_std", 0.0);
  });
  validate(c);
  return c;
}

double location_std_at(const TrainingConfig& c, std::uint64_t step, std::uint64_t total_steps) {
  if (c.initial_std <= 0) return c.model.location_std;
  const double f =
      total_steps > 1
          ? std::min(1.0, static_cast<double>(step) / static_cast<double>(total_steps - 1))
          : 1.0;
  return c.initial_std + (c.model.location_std - c.initial_std) * f;
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
                            const ImageSet& images, const EvalOptions& options, ThreadPool& pool,
                            const Processes& processes) {
  return with_model(config, [&](const auto& model) {
    return evaluate(model, params, images, options, pool, processes);
  });
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

std::string location_policy_name(const TrainingConfig& config, bool mean_location) {
  if (config.architecture != "ram") return "the " + config.architecture + " baseline";
  if (config.random_glimpses) return "random glimpses";
  return mean_location ? "mean locations" : "sampled locations";
}

}  // namespace ram
