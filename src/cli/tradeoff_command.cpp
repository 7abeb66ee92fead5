// ram tradeoff: error against glimpses for fixed-length and adaptive-stopping models, as a
// markdown table, an optional plot, and an optional picture of the digits an adaptive model
// stopped earliest and latest on.
#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "ram/env/source.h"
#include "ram/train/evaluate.h"
#include "ram/train/train.h"
#include "ram/util/error.h"
#include "ram/viz/canvas.h"
#include "ram/viz/scatter_plot.h"
#include "ram/viz/stopping_examples.h"

namespace ram::cli {

namespace {

struct TradeoffFlags {
  std::vector<std::string> models;
  std::string plot, examples, examples_model, title = "error against mean glimpses";
  int threads = 2;
};

struct Row {
  std::string path;
  TrainingConfig config;
  EvalResult sampled, thresholded;  // thresholded: adaptive models only
};

// Models trained on the same task and data share one rendered evaluation set.
std::string evaluation_key(const TrainingConfig& c) {
  return to_string(c.task.kind) + "/" + std::to_string(c.task.canvas) + "/" +
         std::to_string(c.task.clutter_pieces) + "/" + std::to_string(c.task.clutter_size) + "/" +
         c.data + "/" + std::to_string(c.validation_seed);
}

std::string histogram(const EvalResult& r) {
  std::string s;
  for (std::size_t n = 1; n < r.glimpse_histogram.size(); ++n)
    s += (n > 1 ? " " : "") + std::to_string(r.glimpse_histogram[n]);
  return s;
}

std::string cost_label(double cost) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "c=%g", cost);
  return buffer;
}

void run_tradeoff(const TradeoffFlags& f) {
  ThreadPool pool(f.threads);
  std::vector<Row> rows;
  std::map<std::string, ImageSet> evaluation_sets;  // by task and data, rendered once
  std::vector<SavedModel> models;
  for (const std::string& path : f.models) models.push_back(load_model(path));
  // Checked before the evaluations, which take a while.
  std::size_t example = 0;
  while (example < models.size() &&
         !(models[example].config.model.adaptive_stopping &&
           (f.examples_model.empty() || f.models[example] == f.examples_model)))
    ++example;
  if (!f.examples.empty() && example == models.size())
    throw Error("tradeoff: --examples needs an adaptive-stopping model among MODELS" +
                (f.examples_model.empty() ? std::string() : " named " + f.examples_model));
  for (std::size_t m = 0; m < models.size(); ++m) {
    const SavedModel& saved = models[m];
    Row row{f.models[m], saved.config, {}, {}};
    const std::string key = evaluation_key(saved.config);
    if (!evaluation_sets.count(key))
      evaluation_sets[key] =
          render_evaluation_set(saved.config, load_training_data(saved.config.data).validation);
    const ImageSet& images = evaluation_sets[key];
    const RamModel<float> model(saved.config.model);
    EvalOptions options = evaluation_options(saved.config, false, 1);
    row.sampled = evaluate(model, saved.parameters, images, options, pool);
    if (saved.config.model.adaptive_stopping) {
      options.stop = StopMode::threshold;
      row.thresholded = evaluate(model, saved.parameters, images, options, pool);
    }
    rows.push_back(std::move(row));
  }

  std::printf(
      "| model | max glimpses | cost c | error (sampled stop) | mean glimpses | error "
      "(p > 0.5) | mean glimpses | episodes by glimpses 1..T (sampled) |\n"
      "|---|---|---|---|---|---|---|---|\n");
  for (const Row& r : rows) {
    const bool adaptive = r.config.model.adaptive_stopping;
    std::printf("| %s | %d | %s | %.2f%% | %.3f | ", r.path.c_str(), r.config.model.glimpses,
                adaptive ? cost_label(r.config.model.glimpse_cost).substr(2).c_str() : "fixed",
                100 * r.sampled.error(), r.sampled.mean_glimpses());
    if (adaptive)
      std::printf("%.2f%% | %.3f | ", 100 * r.thresholded.error(), r.thresholded.mean_glimpses());
    else
      std::printf("- | - | ");
    std::printf("%s |\n", histogram(r.sampled).c_str());
  }

  if (!f.plot.empty()) {
    viz::PlotSeries fixed{"fixed length T", viz::kBlue, {}, true};
    viz::PlotSeries sampled{"adaptive - sampled stop", viz::kRed, {}, true};
    viz::PlotSeries thresholded{"adaptive - thresholded stop", viz::Rgb{240, 150, 30}, {}, true};
    for (const Row& r : rows) {
      if (r.config.model.adaptive_stopping) {
        const std::string label = cost_label(r.config.model.glimpse_cost);
        sampled.points.push_back({r.sampled.mean_glimpses(), 100 * r.sampled.error(), label});
        thresholded.points.push_back(
            {r.thresholded.mean_glimpses(), 100 * r.thresholded.error(), ""});
      } else {
        fixed.points.push_back({r.sampled.mean_glimpses(), 100 * r.sampled.error(),
                                "T=" + std::to_string(r.config.model.glimpses)});
      }
    }
    auto by_x = [](viz::PlotSeries& s) {
      std::stable_sort(s.points.begin(), s.points.end(),
                       [](const viz::PlotPoint& a, const viz::PlotPoint& b) { return a.x < b.x; });
    };
    std::vector<viz::PlotSeries> series;
    for (viz::PlotSeries* s : {&fixed, &sampled, &thresholded})
      if (!s->points.empty()) {
        by_x(*s);
        series.push_back(*s);
      }
    viz::write_figure(
        viz::scatter_plot(series, {f.title, "mean glimpses per image", "validation error (%)"}),
        f.plot);
    std::printf("plot written to %s\n", f.plot.c_str());
  }
  if (!f.examples.empty()) {
    const std::size_t k = example;
    const Row& r = rows[k];
    const std::string key = evaluation_key(r.config);
    const RamModel<float> model(r.config.model);
    EvalOptions options = evaluation_options(r.config, /*mean_location=*/true, 1);
    options.stop = StopMode::threshold;
    viz::write_figure(
        viz::stopping_examples(model, models[k].parameters, evaluation_sets[key], options, 8, pool),
        f.examples);
    std::printf("examples of %s written to %s\n", r.path.c_str(), f.examples.c_str());
  }
}

}  // namespace

void add_tradeoff_command(CLI::App& app, Reach reach) {
  auto* cmd = app.add_subcommand(
      "tradeoff",
      "Error against mean glimpses of fixed-length and adaptive-stopping models (markdown "
      "table on the validation split, sampled locations, one sample), optionally as a plot");
  auto f = std::make_shared<TradeoffFlags>();
  cmd->add_option("MODELS", f->models, "Model files (model.ram)")->required();
  cmd->add_option("--plot", f->plot, "Write the error-against-glimpses plot to this PNG");
  cmd->add_option("--title", f->title, "Plot title");
  cmd->add_option("--examples", f->examples,
                  "Write the digits the first adaptive model stopped on earliest (top row) and "
                  "latest (bottom row) to this PNG (mean locations, thresholded stopping)");
  cmd->add_option("--examples-model", f->examples_model,
                  "The model of MODELS to draw --examples for (default: the first adaptive one)");
  cmd->add_option("--threads", f->threads, "Threads (default 2)")->check(CLI::Range(1, 256));
  cmd->callback([f, reach] {
    if (reach == Reach::whole_command) run_tradeoff(*f);
  });
}

}  // namespace ram::cli
