#include "ram/viz/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "ram/util/error.h"
#include "ram/util/thread_pool.h"
#include "ram/viz/canvas.h"
#include "ram/viz/curves.h"
#include "ram/viz/glimpse_figure.h"

namespace ram::viz {

namespace {

std::string percent(double fraction) {
  return percent_label(fraction);
}

// "1 h 20 min", "3 min 12 s", "42.0 s".
std::string duration(double seconds) {
  char text[48];
  if (seconds >= 3600)
    std::snprintf(text, sizeof text, "%d h %02d min", static_cast<int>(seconds / 3600),
                  static_cast<int>(std::fmod(seconds, 3600) / 60));
  else if (seconds >= 60)
    std::snprintf(text, sizeof text, "%d min %02d s", static_cast<int>(seconds / 60),
                  static_cast<int>(std::fmod(seconds, 60)));
  else
    std::snprintf(text, sizeof text, "%.1f s", seconds);
  return text;
}

nlohmann::json read_json_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw Error(path.string() + ": cannot open");
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw Error(path.string() + ": not valid JSON (" + e.what() + ")");
  }
}

// Where to look for mistakes: every image once, in passes of images `stride` apart, so that the
// first ones found are spread over the set (evaluation sets may be sorted by class).
std::vector<std::size_t> spread_order(std::size_t size, std::size_t stride) {
  std::vector<std::size_t> order;
  for (std::size_t offset = 0; offset < stride; ++offset)
    for (std::size_t i = offset; i < size; i += stride) order.push_back(i);
  return order;
}

std::string number(double value, const char* format = "%.4g") {
  char text[32];
  std::snprintf(text, sizeof text, format, value);
  return text;
}

std::string data_uri(const char* mime, std::span<const std::uint8_t> bytes) {
  return std::string("data:") + mime + ";base64," + base64(bytes);
}

// A width attribute showing a figure encoded at kPngScale at its logical size (sharp on
// high-DPI screens, not twice as large on others); the width is in the PNG's IHDR chunk.
std::string logical_width(std::span<const std::uint8_t> png) {
  if (png.size() < 24) return "";
  const std::uint32_t width = (std::uint32_t{png[16]} << 24) | (std::uint32_t{png[17]} << 16) |
                              (std::uint32_t{png[18]} << 8) | png[19];
  return " width=\"" + std::to_string(static_cast<int>(width / kPngScale)) + "\"";
}

// Every leaf of a JSON object as "a.b.c" = value, in the object's (sorted) order.
void flatten(const nlohmann::json& j, const std::string& prefix,
             std::vector<std::pair<std::string, std::string>>& out) {
  if (j.is_object()) {
    for (const auto& [key, value] : j.items())
      flatten(value, prefix.empty() ? key : prefix + "." + key, out);
  } else {
    out.emplace_back(prefix, j.is_string() ? j.get<std::string>() : j.dump());
  }
}

std::string row(std::initializer_list<std::string> cells, const char* tag = "td") {
  std::string html = "<tr>";
  for (const std::string& c : cells)
    html += std::string("<") + tag + ">" + html_escape(c) + "</" + tag + ">";
  return html + "</tr>\n";
}

constexpr const char* kStyle = R"(
body { font-family: sans-serif; margin: 2em; color: #222; max-width: 1200px; }
#summary { background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 6px;
           padding: 0.6em 1.2em; margin-bottom: 1.5em; }
#summary table { margin: 0.3em 0; }
#summary td { border: none; text-align: left; padding: 2px 12px 2px 0; }
#summary td:first-child { color: #555; }
#summary .headline { font-size: 1.3em; font-weight: bold; }
code { font-size: 0.95em; }
table.confusion td.diagonal { background: #e6f4ea; font-weight: bold; }
table.confusion td.wrong { background: #fdecea; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
td, th { border: 1px solid #ccc; padding: 2px 8px; text-align: right; }
th { background: #f0f0f0; }
table.config td:first-child { text-align: left; font-family: monospace; }
table.config td:last-child { text-align: left; }
.grid { display: flex; flex-wrap: wrap; gap: 8px; align-items: flex-start; }
figure { margin: 0; }
figcaption { font-family: monospace; text-align: center; }
img { max-width: 100%; }
#image-check { display: none; }
)";

// See report.h: records how every image decoded, for people and for the headless-browser test.
constexpr const char* kImageCheck = R"(
window.addEventListener('load', function () {
  var loaded = 0;
  for (var i = 0; i < document.images.length; ++i) {
    var image = document.images[i];
    image.setAttribute('data-natural-width', image.naturalWidth);
    if (image.complete && image.naturalWidth > 0) ++loaded;
  }
  document.getElementById('image-check').textContent =
      'images loaded: ' + loaded + ' of ' + document.images.length;
  var summary = document.getElementById('summary');
  summary.setAttribute('data-top', Math.round(summary.getBoundingClientRect().top));
});
)";

}  // namespace

std::string html_escape(std::string_view text) {
  return xml_escape(text);
}

std::optional<RecordedEvaluation> read_recorded_evaluation(const std::string& run_dir) {
  const std::filesystem::path path = std::filesystem::path(run_dir) / kEvalFile;
  if (!std::filesystem::exists(path)) return std::nullopt;
  const nlohmann::json j = read_json_file(path);
  RecordedEvaluation r;
  r.split = j.contains("test") ? "test" : "validation";
  if (!j.contains(r.split))
    throw Error(path.string() + ": holds neither a \"test\" nor a \"validation\" evaluation");
  try {
    const nlohmann::json& result = j.at(r.split);
    r.error = result.at("error").get<double>();
    if (result.contains("images")) r.images = result.at("images").get<std::size_t>();
    if (result.contains("policy")) r.policy = result.at("policy").get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(path.string() + ": the " + r.split +
                " evaluation needs \"error\" (a fraction): " + e.what());
  }
  if (!(r.error >= 0 && r.error <= 1))
    throw Error(path.string() + ": \"error\" must be a fraction in [0, 1]");
  return r;
}

RunInfo read_run_info(const std::string& run_dir) {
  const std::filesystem::path path = std::filesystem::path(run_dir) / kRunInfoFile;
  RunInfo info;
  if (!std::filesystem::exists(path)) return info;
  const nlohmann::json j = read_json_file(path);
  try {
    if (j.contains("command")) info.command = j.at("command").get<std::string>();
    if (j.contains("commit")) info.commit = j.at("commit").get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(path.string() + ": \"command\" and \"commit\" must be text: " + e.what());
  }
  return info;
}

RunReport make_run_report(const std::string& run_dir, const ImageSet& digits,
                          const std::string& evaluation_set, const ReportOptions& options) {
  if (options.animations < 0) throw Error("report: the number of animations must be >= 0");
  if (options.mistakes < 0) throw Error("report: the number of mistakes must be >= 0");
  const std::filesystem::path dir(run_dir);
  RunReport r;
  r.title = run_name(run_dir);
  r.model = load_model((dir / kModelFile).string());
  r.metrics = read_metrics((dir / kMetricsFile).string());
  if (r.metrics.empty()) throw Error((dir / kMetricsFile).string() + ": no epochs in the file");
  r.recorded = read_recorded_evaluation(run_dir);
  r.run_info = read_run_info(run_dir);
  r.evaluation_set = evaluation_set;
  const TrainingConfig& config = r.model.config;
  const EvalOptions eval_options = evaluation_options(config, options.mean_location, 1);
  r.location_mode = location_policy_name(config, options.mean_location);

  const ImageSet images = render_evaluation_set(config, digits);
  if (config.architecture != "ram")
    throw Error("report: the model is the " + config.architecture +
                " baseline, which takes no glimpses");
  const RamModel<float> model(config.model);
  ThreadPool pool(options.threads);
  r.evaluation = evaluate(model, r.model.parameters, images, eval_options, pool);
  r.curves_png = encode_png(training_curves(r.metrics, r.title));
  const std::vector<std::size_t> indices =
      spread_indices(images.size(), static_cast<std::size_t>(options.animations));
  for (const Episode& e :
       record_episodes(model, r.model.parameters, images, indices, eval_options)) {
    const std::vector<RgbImage> frames = glimpse_frames(e);
    r.animations.push_back(encode_gif(frames, glimpse_frame_delays(frames.size())));
    r.captions.push_back("image " + std::to_string(e.index) + ": " + caption(e));
  }
  // Replayed a block at a time until enough mistakes are found (evaluate() keeps no answers).
  const std::vector<std::size_t> order = spread_order(images.size(), 16);
  const auto wanted = static_cast<std::size_t>(options.mistakes);
  constexpr std::size_t kBlock = 256;
  for (std::size_t from = 0; from < order.size() && r.mistakes.size() < wanted; from += kBlock) {
    std::vector<std::size_t> block(
        order.begin() + static_cast<std::ptrdiff_t>(from),
        order.begin() + static_cast<std::ptrdiff_t>(std::min(order.size(), from + kBlock)));
    std::sort(block.begin(), block.end());  // one forward pass per evaluation chunk
    for (const Episode& e : record_episodes(model, r.model.parameters, images, block, eval_options))
      if (e.predicted != e.label && r.mistakes.size() < wanted)
        r.mistakes.push_back(encode_png(glimpse_thumbnail(e)));
  }
  return r;
}

std::string report_html(const RunReport& r) {
  const TrainingConfig& config = r.model.config;
  const RunFigures figures = run_figures(r.metrics);
  std::string h;
  h += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  h += "<title>ram run " + html_escape(r.title) + "</title>\n<style>" + kStyle + "</style>\n";
  h += "</head>\n<body>\n<h1>ram run: " + html_escape(r.title) + "</h1>\n";

  h += "<section id=\"summary\">\n<p class=\"headline\">validation error " +
       percent(figures.final_validation_error) + " after " + std::to_string(figures.epochs) +
       " epochs";
  if (r.recorded && r.recorded->split == "test")
    h += " &middot; test error " + percent(r.recorded->error);
  h += "</p>\n<table>\n";
  h += row({"final validation error", percent(figures.final_validation_error) + " (epoch " +
                                          std::to_string(r.metrics.back().epoch) + ")"});
  h += row({"best validation error", percent(figures.best_validation_error) + " (epoch " +
                                         std::to_string(figures.best_epoch) + ")"});
  if (r.recorded) {
    std::string details;
    if (r.recorded->images) details += ", " + std::to_string(r.recorded->images) + " images";
    if (!r.recorded->policy.empty()) details += ", " + r.recorded->policy;
    h += row({r.recorded->split + " error (eval.json)", percent(r.recorded->error) + details});
  } else {
    h += row({"test error", "not evaluated (no eval.json in the run directory)"});
  }
  h += row({"this page's evaluation", percent(r.evaluation.error()) + " on " + r.evaluation_set +
                                          " (" + std::to_string(r.evaluation.images) + " images, " +
                                          r.location_mode + ")"});
  h += row({"wall time", duration(figures.seconds) + " of training"});
  h += row({"task",
            to_string(config.task.kind) + " " + std::to_string(config.task.canvas) + "x" +
                std::to_string(config.task.canvas) + ", " + std::to_string(config.model.glimpses) +
                " glimpses of " + std::to_string(config.model.retina.glimpse_size) + "x" +
                std::to_string(config.model.retina.glimpse_size) + " at " +
                std::to_string(config.model.retina.scales) + " scale(s), data " + config.data});
  h += row({"seed", std::to_string(config.seed)});
  h += "<tr><td>command</td><td>" +
       (r.run_info.command.empty() ? std::string("not recorded (no run.json)")
                                   : "<code>" + html_escape(r.run_info.command) + "</code>") +
       "</td></tr>\n";
  h += row({"commit", r.run_info.commit.empty() ? "not recorded" : r.run_info.commit});
  h += "</table>\n</section>\n";

  h += "<h2>Confusion matrix</h2>\n<p>" + html_escape(r.evaluation_set) + ", " +
       html_escape(r.location_mode) +
       ": rows are the true class, columns the answer; the last column is the class's error."
       "</p>\n<table class=\"confusion\" id=\"confusion\">\n<tr><th>true \\ answer</th>";
  const int classes = r.evaluation.classes;
  for (int c = 0; c < classes; ++c) h += "<th>" + std::to_string(c) + "</th>";
  h += "<th>error</th></tr>\n";
  for (int t = 0; t < classes; ++t) {
    h += "<tr><th>" + std::to_string(t) + "</th>";
    for (int p = 0; p < classes; ++p) {
      const std::size_t n = r.evaluation.confusion[static_cast<std::size_t>(t * classes + p)];
      const char* cls = t == p ? " class=\"diagonal\"" : n > 0 ? " class=\"wrong\"" : "";
      h += std::string("<td") + cls + ">" + std::to_string(n) + "</td>";
    }
    h += "<td>" + percent(r.evaluation.class_error(t)) + "</td></tr>\n";
  }
  h += "</table>\n";

  h += "<h2>Mistakes</h2>\n";
  if (r.mistakes.empty()) {
    h += "<p>No misclassified image found.</p>\n";
  } else {
    h += "<p>Misclassified images spread over the evaluation set, with the finest box of each "
         "glimpse (first green, last red).</p>\n<div class=\"grid\" id=\"mistakes\">\n";
    for (const auto& png : r.mistakes)
      h += "<img class=\"mistake\"" + logical_width(png) + " alt=\"a misclassified image\" src=\"" +
           data_uri("image/png", png) + "\">\n";
    h += "</div>\n";
  }

  h += "<h2>Training curves</h2>\n<img id=\"curves\"" + logical_width(r.curves_png) +
       " alt=\"training curves\" src=\"" + data_uri("image/png", r.curves_png) + "\">\n";
  h += "<h2>Glimpses</h2>\n<p>" + std::to_string(r.animations.size()) +
       " images spread over the evaluation set, " + html_escape(r.location_mode) +
       ": the boxes show the retina's scales at each glimpse (first green, last red), the "
       "column on the right what the network saw and the class probabilities after that "
       "glimpse (the true class green).</p>\n<div class=\"grid\">\n";
  for (std::size_t i = 0; i < r.animations.size(); ++i) {
    h += "<figure><img class=\"glimpses\" alt=\"glimpses of image " + std::to_string(i) +
         "\" src=\"" + data_uri("image/gif", r.animations[i]) + "\"><figcaption>" +
         html_escape(r.captions[i]) + "</figcaption></figure>\n";
  }
  h += "</div>\n";

  h += "<h2>Configuration</h2>\n<table class=\"config\" id=\"config\">\n";
  std::vector<std::pair<std::string, std::string>> settings;
  flatten(to_json(config), "", settings);
  for (const auto& [key, value] : settings) h += row({key, value});
  h += "</table>\n";

  h += "<h2>By epoch</h2>\n<details><summary>" + std::to_string(r.metrics.size()) +
       " epochs (metrics.csv)</summary>\n<table id=\"epochs\">\n";
  h += row({"epoch", "train error", "validation error", "loss", "cross-entropy", "reinforce",
            "baseline", "learning rate", "seconds", "images/s"},
           "th");
  for (const EpochMetrics& m : r.metrics)
    h += row({std::to_string(m.epoch), percent(m.train_error), percent(m.validation_error),
              number(m.loss), number(m.cross_entropy), number(m.reinforce), number(m.baseline),
              number(m.learning_rate, "%.3g"), number(m.seconds, "%.1f"),
              number(m.images_per_second, "%.0f")});
  h += "</table>\n</details>\n";
  h += "<p id=\"image-check\">images not checked (scripts disabled)</p>\n";
  h += std::string("<script>") + kImageCheck + "</script>\n</body>\n</html>\n";
  return h;
}

void write_training_curves(const std::string& run, const std::string& out_file) {
  const std::string metrics = metrics_file(run);
  const std::vector<EpochMetrics> epochs = read_metrics(metrics);
  if (epochs.empty()) throw Error(metrics + ": no epochs in the file");
  write_figure(training_curves(epochs, run_name(run)), out_file);
}

void write_run_report(const std::string& run_dir, const std::string& out_file,
                      const ImageSet& digits, const std::string& evaluation_set,
                      const ReportOptions& options) {
  const RunReport report = make_run_report(run_dir, digits, evaluation_set, options);
  write_file(std::filesystem::path(run_dir) / kCurvesFile, report.curves_png, "PNG");
  const std::string html = report_html(report);
  write_file(out_file, std::span(reinterpret_cast<const std::uint8_t*>(html.data()), html.size()),
             "HTML");
}

}  // namespace ram::viz
