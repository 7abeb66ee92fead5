#include "ram/viz/report.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "ram/util/error.h"
#include "ram/util/thread_pool.h"
#include "ram/viz/curves.h"
#include "ram/viz/glimpse_figure.h"

namespace ram::viz {

namespace {

std::string percent(double fraction) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f%%", 100 * fraction);
  return text;
}

std::string number(double value, const char* format = "%.4g") {
  char text[32];
  std::snprintf(text, sizeof text, format, value);
  return text;
}

std::string data_uri(const char* mime, std::span<const std::uint8_t> bytes) {
  return std::string("data:") + mime + ";base64," + base64(bytes);
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
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
td, th { border: 1px solid #ccc; padding: 2px 8px; text-align: right; }
th { background: #f0f0f0; }
table.config td:first-child { text-align: left; font-family: monospace; }
table.config td:last-child { text-align: left; }
.grid { display: flex; flex-wrap: wrap; gap: 12px; }
figure { margin: 0; }
figcaption { font-family: monospace; text-align: center; }
img { max-width: 100%; }
#image-check { color: #888; font-size: small; }
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
});
)";

}  // namespace

std::string base64(std::span<const std::uint8_t> bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v =
        (std::uint32_t{bytes[i]} << 16) | (std::uint32_t{bytes[i + 1]} << 8) | bytes[i + 2];
    for (int shift = 18; shift >= 0; shift -= 6) out += kAlphabet[(v >> shift) & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t v = std::uint32_t{bytes[i]} << 16;
    if (rest == 2) v |= std::uint32_t{bytes[i + 1]} << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

RunReport make_run_report(const std::string& run_dir, const ImageSet& digits,
                          const std::string& evaluation_set, const ReportOptions& options) {
  if (options.animations < 0) throw Error("report: the number of animations must be >= 0");
  const std::filesystem::path dir(run_dir);
  RunReport r;
  r.title = run_dir;
  r.model = load_model((dir / kModelFile).string());
  r.metrics = read_metrics((dir / kMetricsFile).string());
  if (r.metrics.empty()) throw Error((dir / kMetricsFile).string() + ": no epochs in the file");
  r.evaluation_set = evaluation_set;
  const TrainingConfig& config = r.model.config;
  const EvalOptions eval_options = evaluation_options(config, options.mean_location, 1);
  r.location_mode = config.random_glimpses  ? "random glimpses"
                    : options.mean_location ? "mean locations"
                                            : "sampled locations";

  const ImageSet images = render_evaluation_set(config, digits);
  if (config.architecture != "ram")
    throw Error("report: the model is the " + config.architecture +
                " baseline, which takes no glimpses");
  const RamModel<float> model(config.model);
  ThreadPool pool(options.threads);
  r.evaluation = evaluate(model, r.model.parameters, images, eval_options, pool);
  r.curves_png = encode_png(training_curves(r.metrics));
  const std::vector<std::size_t> indices =
      spread_indices(images.size(), static_cast<std::size_t>(options.animations));
  for (const Episode& e :
       record_episodes(model, r.model.parameters, images, indices, eval_options)) {
    const std::vector<RgbImage> frames = glimpse_frames(e);
    r.animations.push_back(encode_gif(frames, glimpse_frame_delays(frames.size())));
    r.captions.push_back("image " + std::to_string(e.index) + ": " + caption(e));
  }
  return r;
}

std::string report_html(const RunReport& r) {
  const TrainingConfig& config = r.model.config;
  std::string h;
  h += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  h += "<title>ram run " + html_escape(r.title) + "</title>\n<style>" + kStyle + "</style>\n";
  h += "</head>\n<body>\n<h1>ram run: " + html_escape(r.title) + "</h1>\n";
  h += "<p>Recurrent Attention Model, task " + html_escape(to_string(config.task.kind)) + " " +
       std::to_string(config.task.canvas) + "x" + std::to_string(config.task.canvas) + ", " +
       std::to_string(config.model.glimpses) + " glimpses of " +
       std::to_string(config.model.retina.glimpse_size) + "x" +
       std::to_string(config.model.retina.glimpse_size) + " at " +
       std::to_string(config.model.retina.scales) + " scale(s); model after epoch " +
       std::to_string(r.model.epoch) + " (" + std::to_string(r.model.step) + " steps).</p>\n";

  h += "<h2>Error</h2>\n<table id=\"error-table\">\n";
  h += row({"evaluation set", "images", "locations", "error"}, "th");
  h += row({r.evaluation_set, std::to_string(r.evaluation.images), r.location_mode,
            percent(r.evaluation.error())});
  h += "</table>\n<table id=\"class-error\">\n<tr><th>true class</th>";
  for (int c = 0; c < r.evaluation.classes; ++c) h += "<th>" + std::to_string(c) + "</th>";
  h += "</tr>\n<tr><td>error</td>";
  for (int c = 0; c < r.evaluation.classes; ++c)
    h += "<td>" + percent(r.evaluation.class_error(c)) + "</td>";
  h += "</tr>\n</table>\n";

  h += "<h2>Training curves</h2>\n<img id=\"curves\" alt=\"training curves\" src=\"" +
       data_uri("image/png", r.curves_png) + "\">\n";
  h += "<h2>Glimpses</h2>\n<p>" + std::to_string(r.animations.size()) +
       " images spread over the evaluation set, " + html_escape(r.location_mode) +
       ": the boxes show the retina's scales at each glimpse (first green, last red), the "
       "column on the right what the network saw.</p>\n<div class=\"grid\">\n";
  for (std::size_t i = 0; i < r.animations.size(); ++i) {
    h += "<figure><img class=\"glimpses\" alt=\"glimpses of image " + std::to_string(i) +
         "\" src=\"" + data_uri("image/gif", r.animations[i]) + "\"><figcaption>" +
         html_escape(r.captions[i]) + "</figcaption></figure>\n";
  }
  h += "</div>\n";

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

  h += "<h2>Configuration</h2>\n<table class=\"config\" id=\"config\">\n";
  std::vector<std::pair<std::string, std::string>> settings;
  flatten(to_json(config), "", settings);
  for (const auto& [key, value] : settings) h += row({key, value});
  h += "</table>\n<p id=\"image-check\">images not checked (scripts disabled)</p>\n";
  h += std::string("<script>") + kImageCheck + "</script>\n</body>\n</html>\n";
  return h;
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
