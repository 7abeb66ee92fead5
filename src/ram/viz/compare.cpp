#include "ram/viz/compare.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>

#include "ram/run/run_directory.h"
#include "ram/train/saved_model.h"
#include "ram/util/error.h"
#include "ram/viz/curves.h"

namespace ram::viz {

namespace {

std::string minutes(double seconds) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f min", seconds / 60);
  return text;
}

std::string millions(std::uint64_t frames) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2fM", static_cast<double>(frames) / 1e6);
  return text;
}

bool is_model_file(const std::string& run) {
  return std::filesystem::path(run).extension() == ".ram";
}

// A model file is named by its stem, but a run directory's own model or checkpoint by the run.
std::string model_file_name(const std::string& file) {
  const std::filesystem::path p = std::filesystem::absolute(file).lexically_normal();
  if (p.filename() == kModelFile || p.filename() == kCheckpointFile)
    return run_name(p.parent_path().string());
  return p.stem().string();
}

}  // namespace

bool is_catch_run(const std::string& run) {
  if (is_model_file(run)) return false;  // a Catch agent's file is refused when it is read
  const std::string path = metrics_file(run);
  std::ifstream in(path);
  if (!in) throw Error(path + ": cannot open the metrics file");
  std::string header;
  std::getline(in, header);
  return header.rfind("updates,frames,catch_rate", 0) == 0;
}

CatchCurve load_compared_catch_run(const std::string& run) {
  const std::string path = metrics_file(run);
  CatchCurve r{run_name(run), read_metrics_csv<CatchMetrics>(path)};
  if (r.metrics.empty()) throw Error(path + ": no metrics lines in the file");
  return r;
}

std::string compare_catch_table(const std::vector<CatchCurve>& runs) {
  std::string t =
      "| run | frames | catch rate, last line | best line (frames) | first line at 90% | wall "
      "time |\n|---|---|---|---|---|---|\n";
  for (const CatchCurve& r : runs) {
    const CatchMetrics* best = &r.metrics.front();
    const CatchMetrics* ninety = nullptr;
    for (const CatchMetrics& m : r.metrics) {
      if (m.catch_rate > best->catch_rate) best = &m;
      if (!ninety && m.catch_rate >= 0.9) ninety = &m;
    }
    const CatchMetrics& last = r.metrics.back();
    t += "| " + r.name + " | " + millions(last.frames) + " | " + percent_label(last.catch_rate) +
         " | " + percent_label(best->catch_rate) + " (" + millions(best->frames) + ") | " +
         (ninety ? millions(ninety->frames) : std::string("not reached")) + " | " +
         minutes(last.seconds) + " |\n";
  }
  return t;
}

ComparedRun load_compared_run(const std::string& run) {
  if (is_model_file(run)) {
    ComparedRun r{model_file_name(run), load_model(run).history};
    if (r.metrics.empty()) throw Error(run + ": the model file holds no epochs");
    return r;
  }
  const std::string path = metrics_file(run);
  ComparedRun r{run_name(run), read_metrics(path)};
  if (r.metrics.empty()) throw Error(path + ": no epochs in the file");
  return r;
}

Canvas compare_curves(const std::vector<ComparedRun>& runs) {
  if (runs.empty()) throw Error("compare: no runs to plot");
  int last_epoch = 1;
  for (const ComparedRun& r : runs)
    for (const EpochMetrics& m : r.metrics) last_epoch = std::max(last_epoch, m.epoch);
  LinePlot plot{"validation error (%), log scale", "epoch", {}, {}, 1, true, {}};
  for (int epoch = 1; epoch <= last_epoch; ++epoch) plot.x.push_back(epoch);
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const ComparedRun& r = runs[i];
    const RunFigures f = run_figures(r.metrics);
    const Rgb colour = kRunColours[i % std::size(kRunColours)];
    Series s{r.name + ": best " + percent_label(f.best_validation_error) + " (epoch " +
                 std::to_string(f.best_epoch) + "), final " +
                 percent_label(f.final_validation_error),
             colour, std::vector<double>(plot.x.size(), std::numeric_limits<double>::quiet_NaN()),
             i >= std::size(kRunColours)};
    for (const EpochMetrics& m : r.metrics)
      if (m.epoch >= 1 && m.epoch <= last_epoch)
        s.values[static_cast<std::size_t>(m.epoch - 1)] = 100 * m.validation_error;
    plot.series.push_back(std::move(s));
    plot.markers.push_back({static_cast<double>(f.best_epoch), 100 * f.best_validation_error, "",
                            colour, false, false});
  }
  constexpr double kWidth = 960, kHeight = 560, kTitleHeight = 34;
  Canvas out(kWidth, kTitleHeight + kHeight, kWhite);
  std::string title = "validation error of " + std::to_string(runs.size()) + " run";
  if (runs.size() > 1) title += "s";
  out.text({58, 23}, title, kAxisColour, {16, true});
  out.paste(draw_line_plot(plot, kWidth, kHeight), {0, kTitleHeight});
  return out;
}

std::optional<TargetReached> first_reaching(const std::vector<EpochMetrics>& metrics,
                                            double target) {
  // Errors are counts over a validation set, so a target given in percent (1.2 -> 0.012 after
  // rounding) must still match an error of exactly that many images.
  constexpr double kRounding = 1e-9;
  double seconds = 0;
  for (const EpochMetrics& m : metrics) {
    seconds += m.seconds;
    if (m.validation_error <= target + kRounding) return TargetReached{m.epoch, seconds};
  }
  return std::nullopt;
}

std::string compare_table(const std::vector<ComparedRun>& runs,
                          const std::vector<double>& targets) {
  std::string header =
      "| run | epochs | final validation error | best validation error | wall time |";
  std::string rule = "|---|---|---|---|---|";
  for (double target : targets) {
    header += " first at " + percent_label(target) + " |";
    rule += "---|";
  }
  std::string t = header + "\n" + rule + "\n";
  for (const ComparedRun& r : runs) {
    const RunFigures f = run_figures(r.metrics);
    t += "| " + r.name + " | " + std::to_string(f.epochs) + " | " +
         percent_label(f.final_validation_error) + " | " + percent_label(f.best_validation_error) +
         " (epoch " + std::to_string(f.best_epoch) + ") | " + minutes(f.seconds) + " |";
    for (double target : targets) {
      const std::optional<TargetReached> hit = first_reaching(r.metrics, target);
      t += hit ? " epoch " + std::to_string(hit->epoch) + ", " + minutes(hit->seconds) + " |"
               : std::string(" not reached |");
    }
    t += "\n";
  }
  return t;
}

}  // namespace ram::viz
