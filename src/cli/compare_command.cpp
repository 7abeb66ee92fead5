#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "ram/util/error.h"
#include "ram/viz/canvas.h"
#include "ram/viz/compare.h"

namespace ram::cli {

namespace {

struct CompareFlags {
  std::vector<std::string> runs;
  std::string out;
  std::vector<double> targets;  // percent
};

void run_compare(const CompareFlags& f, Reach reach) {
  if (!f.out.empty()) {
    const std::string extension = std::filesystem::path(f.out).extension().string();
    if (extension != ".png" && extension != ".svg")
      throw Error("compare: --out " + f.out + ": the figure is written as .png or .svg");
  }
  std::vector<double> targets;
  for (double percent : f.targets) {
    if (!(percent > 0 && percent < 100))
      throw Error("compare: --target " + std::to_string(percent) +
                  ": a validation error in percent, between 0 and 100");
    targets.push_back(percent / 100);
  }
  if (reach == Reach::settings) return;
  const bool catch_runs = viz::is_catch_run(f.runs.front());
  for (const std::string& run : f.runs)
    if (viz::is_catch_run(run) != catch_runs)
      throw Error("compare: " + f.runs.front() + " is a " +
                  (catch_runs ? "Catch" : "classification") + " run and " + run +
                  " is not: compare runs of one kind");
  if (catch_runs) {
    if (!targets.empty())
      throw Error(
          "compare: --target is for classification runs; a Catch run's table gives its "
          "first line at a 90% catch rate");
    std::vector<viz::CatchCurve> runs;
    for (const std::string& run : f.runs) runs.push_back(viz::load_compared_catch_run(run));
    std::printf("%s", viz::compare_catch_table(runs).c_str());
    if (f.out.empty()) return;
    viz::write_figure(viz::catch_curves(runs, viz::random_agent_catch_rate()), f.out);
    std::printf("catch-rate curves of %zu runs in %s\n", runs.size(), f.out.c_str());
    return;
  }
  std::vector<viz::ComparedRun> runs;
  for (const std::string& run : f.runs) runs.push_back(viz::load_compared_run(run));
  std::printf("%s", viz::compare_table(runs, targets).c_str());
  if (f.out.empty()) return;
  viz::write_figure(viz::compare_curves(runs), f.out);
  std::printf("validation curves of %zu runs in %s\n", runs.size(), f.out.c_str());
}

}  // namespace

void add_compare_command(CLI::App& app, Reach reach) {
  auto* cmd = app.add_subcommand(
      "compare",
      "Print a table of several runs' final and best validation errors (and when each first "
      "reached --target), and overlay their validation curves in one figure (--out FILE.png or "
      ".svg); for Catch runs, their catch rate");
  auto f = std::make_shared<CompareFlags>();
  cmd->add_option("RUN", f->runs,
                  "Run directories written by ram train or ram catch train (their metrics.csv), "
                  "metrics .csv files, or model files (.ram, their training history)")
      ->required();
  cmd->add_option("--out", f->out,
                  "Also draw the validation curves into this figure, .png or .svg");
  cmd->add_option("--target", f->targets,
                  "A validation error in percent: a column gives the epoch and wall time at "
                  "which each run first reached it (repeat for several)")
      ->allow_extra_args(false);
  cmd->callback([f, reach] { run_compare(*f, reach); });
}

}  // namespace ram::cli
