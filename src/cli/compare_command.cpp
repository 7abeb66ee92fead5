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
};

void run_compare(const CompareFlags& f, Reach reach) {
  if (f.out.empty()) throw Error("compare: --out FILE (.png or .svg) is required");
  const std::string extension = std::filesystem::path(f.out).extension().string();
  if (extension != ".png" && extension != ".svg")
    throw Error("compare: --out " + f.out + ": the figure is written as .png or .svg");
  if (reach == Reach::settings) return;
  const bool catch_runs = viz::is_catch_run(f.runs.front());
  for (const std::string& run : f.runs)
    if (viz::is_catch_run(run) != catch_runs)
      throw Error("compare: " + f.runs.front() + " is a " +
                  (catch_runs ? "Catch" : "classification") + " run and " + run +
                  " is not: compare runs of one kind");
  if (catch_runs) {
    std::vector<viz::CatchCurve> runs;
    for (const std::string& run : f.runs) runs.push_back(viz::load_compared_catch_run(run));
    viz::write_figure(viz::catch_curves(runs, viz::random_agent_catch_rate()), f.out);
    std::printf("%s", viz::compare_catch_table(runs).c_str());
    std::printf("catch-rate curves of %zu runs in %s\n", runs.size(), f.out.c_str());
    return;
  }
  std::vector<viz::ComparedRun> runs;
  for (const std::string& run : f.runs) runs.push_back(viz::load_compared_run(run));
  viz::write_figure(viz::compare_curves(runs), f.out);
  std::printf("%s", viz::compare_table(runs).c_str());
  std::printf("validation curves of %zu runs in %s\n", runs.size(), f.out.c_str());
}

}  // namespace

void add_compare_command(CLI::App& app, Reach reach) {
  auto* cmd = app.add_subcommand(
      "compare",
      "Overlay the validation curves of several runs in one figure (--out FILE.png or .svg) and "
      "print a table of their final figures; for Catch runs, their catch rate and entropy");
  auto f = std::make_shared<CompareFlags>();
  cmd->add_option("RUN", f->runs,
                  "Run directories written by ram train or ram catch train (their metrics.csv), or "
                  "metrics .csv files")
      ->required();
  cmd->add_option("--out", f->out, "Figure file, .png or .svg (required)");
  cmd->callback([f, reach] { run_compare(*f, reach); });
}

}  // namespace ram::cli
