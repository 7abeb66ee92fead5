#include <cstdio>
#include <filesystem>
#include <memory>

#include "commands.h"
#include "ram/env/idx.h"
#include "ram/env/source.h"
#include "ram/train/train.h"
#include "ram/viz/report.h"

namespace ram::cli {

namespace {

struct ReportFlags {
  std::string run_dir;
  std::string out;
  std::string data_dir;
  bool curves_only = false;
  viz::ReportOptions options;
};

void run_report(const ReportFlags& f) {
  const std::filesystem::path dir(f.run_dir);
  if (f.curves_only) {
    const std::string out = f.out.empty() ? (dir / viz::kCurvesFile).string() : f.out;
    viz::write_training_curves(f.run_dir, out);
    std::printf("wrote %s\n", out.c_str());
    return;
  }
  const TrainingConfig config = load_model((dir / kModelFile).string()).config;
  const std::string out = f.out.empty() ? (dir / viz::kReportFile).string() : f.out;
  if (f.data_dir.empty()) {
    viz::write_run_report(f.run_dir, out, load_training_data(config.data).validation,
                          "validation split of " + config.data, f.options);
  } else {
    viz::write_run_report(f.run_dir, out, load_idx_dir(f.data_dir, "t10k"),
                          "t10k test set of " + f.data_dir, f.options);
  }
  std::printf("wrote %s and %s\n", out.c_str(), (dir / viz::kCurvesFile).c_str());
}

}  // namespace

void add_report_command(CLI::App& app, Reach reach) {
  auto* cmd = app.add_subcommand(
      "report",
      "Write RUN_DIR/curves.png (errors, losses and learning rate by epoch) and a self-contained "
      "HTML report (summary, confusion matrix, mistakes, curves, glimpse animations, "
      "configuration)");
  auto f = std::make_shared<ReportFlags>();
  cmd->add_option("RUN_DIR", f->run_dir,
                  "Directory written by ram train (model.ram, metrics.csv); with --curves-only, "
                  "also a metrics .csv file")
      ->required();
  cmd->add_option("--out", f->out,
                  "HTML file (default RUN_DIR/report.html); with --curves-only, the figure "
                  "(.png or .svg, default RUN_DIR/curves.png)");
  cmd->add_flag("--curves-only", f->curves_only,
                "Only draw the training curves, from metrics.csv (no model needed)");
  cmd->add_option("--data", f->data_dir,
                  "Directory with MNIST-format t10k files to evaluate on; default: the "
                  "validation split of the model's training data");
  cmd->add_option("--count", f->options.animations, "Glimpse animations (default 8)")
      ->check(CLI::Range(0, 100));
  cmd->add_option("--mistakes", f->options.mistakes, "Misclassified images shown (default 6)")
      ->check(CLI::Range(0, 100));
  cmd->add_flag("--greedy", f->options.mean_location,
                "Deterministic policy: glimpse at the policy's mean instead of a sample");
  cmd->add_flag("--mean-location", f->options.mean_location)->group("");  // the old name
  cmd->add_option("--threads", f->options.threads, "Threads (default 2)")
      ->check(CLI::Range(1, 256));
  cmd->callback([f, reach] {
    if (reach == Reach::whole_command) run_report(*f);
  });
}

}  // namespace ram::cli
