// The HTML report: its parts, and that a real browser (headless Chromium) loads every image.
#include "ram/viz/report.h"

#include <gtest/gtest.h>
#include <png.h>
#include <sys/wait.h>

#include <array>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>

#include "ram/viz/curves.h"
#include "support/test_support.h"
#include "support/training_support.h"

namespace fs = std::filesystem;

namespace ram::viz {
namespace {

using test::TempDir;

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::size_t count(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (std::size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

// A tiny model on a translated task, trained for one epoch on a handful of random digits.
TrainingConfig tiny_config() {
  TrainingConfig c = test::tiny_translated_config(40, 2);
  c.model.retina.glimpse_size = 6;
  c.model.glimpses = 3;
  c.epochs = 1;
  return c;
}

class Report : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("report");
    validation_ = new ImageSet(test::random_digits(30, 2));
    train(tiny_config(), {test::random_digits(60, 1), *validation_}, dir_->str(),
          ram::RunStart::fresh);
  }
  static void TearDownTestSuite() {
    delete dir_;
    delete validation_;
  }
  static TempDir* dir_;
  static ImageSet* validation_;
};
TempDir* Report::dir_ = nullptr;
ImageSet* Report::validation_ = nullptr;

TEST(Base64, MatchesTheStandardVectors) {
  const auto encode = [](std::string_view s) {
    return base64(std::span(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()));
  };
  EXPECT_EQ(encode(""), "");
  EXPECT_EQ(encode("f"), "Zg==");
  EXPECT_EQ(encode("fo"), "Zm8=");
  EXPECT_EQ(encode("foo"), "Zm9v");
  EXPECT_EQ(encode("foob"), "Zm9vYg==");
  EXPECT_EQ(encode("foobar"), "Zm9vYmFy");
  const std::uint8_t high[] = {0xff, 0xfe, 0x00};
  EXPECT_EQ(base64(high), "//4A");
}

TEST(HtmlEscape, EscapesMarkup) {
  EXPECT_EQ(html_escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
}

TEST_F(Report, HoldsConfigurationTablesCurvesAndAnimations) {
  ReportOptions options;
  options.animations = 4;
  const RunReport r = make_run_report(dir_->str(), *validation_, "random <digits>", options);
  EXPECT_EQ(r.animations.size(), 4u);
  EXPECT_EQ(r.captions.size(), 4u);
  EXPECT_EQ(r.metrics.size(), 1u);
  EXPECT_EQ(r.evaluation.images, 30u);
  const std::string html = report_html(r);
  EXPECT_EQ(count(html, "src=\"data:image/gif;base64,"), 4u);
  EXPECT_EQ(count(html, "src=\"data:image/png;base64,"), 1u + r.mistakes.size());
  EXPECT_EQ(count(html, "<img "), 5u + r.mistakes.size());
  // A barely trained model misclassifies most random digits: the row of mistakes is full.
  EXPECT_EQ(r.mistakes.size(), 6u);
  EXPECT_NE(html.find("random &lt;digits&gt;"), std::string::npos);
  EXPECT_NE(html.find("<td>model.glimpse_size</td><td>6</td>"), std::string::npos);
  EXPECT_NE(html.find("id=\"summary\""), std::string::npos);
  EXPECT_NE(html.find("id=\"epochs\""), std::string::npos);
  // The summary shows the error evaluate() measured.
  char error[64];
  std::snprintf(error, sizeof error, "<td>%.2f%% on random &lt;digits&gt;",
                100 * r.evaluation.error());
  EXPECT_NE(html.find(error), std::string::npos) << error;
}

TEST_F(Report, TheSummaryComesFirstThenConfusionMistakesAndConfigurationBeforeEpochs) {
  ReportOptions options;
  options.animations = 1;
  options.mistakes = 2;
  const RunReport r = make_run_report(dir_->str(), *validation_, "v", options);
  const std::string html = report_html(r);
  const auto at = [&](const std::string& part) {
    const std::size_t i = html.find(part);
    EXPECT_NE(i, std::string::npos) << part;
    return i;
  };
  EXPECT_LT(at("id=\"summary\""), at("id=\"confusion\""));
  EXPECT_LT(at("id=\"confusion\""), at("id=\"mistakes\""));
  EXPECT_LT(at("id=\"mistakes\""), at("id=\"curves\""));
  EXPECT_LT(at("id=\"config\""), at("id=\"epochs\""));
  // The summary's figures are the metrics' (one epoch: final and best are the same).
  const std::string validation = percent_label(r.metrics.back().validation_error);
  EXPECT_NE(html.find("<td>final validation error</td><td>" + validation + " (epoch 1)</td>"),
            std::string::npos);
  EXPECT_NE(html.find("<td>best validation error</td><td>" + validation + " (epoch 1)</td>"),
            std::string::npos);
  EXPECT_NE(html.find("<td>seed</td><td>" + std::to_string(r.model.config.seed) + "</td>"),
            std::string::npos);
  EXPECT_NE(html.find("not evaluated (no eval.json"), std::string::npos);
  // The confusion matrix holds every image once.
  std::size_t total = 0;
  for (std::size_t n : r.evaluation.confusion) total += n;
  EXPECT_EQ(total, r.evaluation.images);
  EXPECT_EQ(r.mistakes.size(), 2u);
  // The curves (drawn at twice their size) are shown at their logical width.
  EXPECT_NE(html.find("id=\"curves\" width=\"1120\""), std::string::npos);
}

TEST_F(Report, ShowsTheTestErrorAndCommandTheRunRecorded) {
  TempDir run("recorded");
  for (const char* file : {kModelFile, kMetricsFile})
    fs::copy_file(fs::path(dir_->str()) / file, fs::path(run.str()) / file);
  std::ofstream(run.sub(kEvalFile)) << R"({"validation": {"error": 0.02, "images": 10000},
             "test": {"error": 0.0165, "images": 10000, "policy": "mean locations"}})";
  std::ofstream(run.sub(kRunInfoFile))
      << R"({"command": "ram train --preset translated60-8g <x>", "commit": "abc1234"})";
  ReportOptions options;
  options.animations = 0;
  options.mistakes = 0;
  const std::string html = report_html(make_run_report(run.str(), *validation_, "v", options));
  EXPECT_NE(html.find("test error 1.65%"), std::string::npos);
  EXPECT_NE(html.find("<td>test error (eval.json)</td><td>1.65%, 10000 images, mean "
                      "locations</td>"),
            std::string::npos);
  EXPECT_NE(html.find("<code>ram train --preset translated60-8g &lt;x&gt;</code>"),
            std::string::npos);
  EXPECT_NE(html.find("<td>commit</td><td>abc1234</td>"), std::string::npos);
  // A corrupt eval.json is named, not ignored.
  std::ofstream(run.sub(kEvalFile)) << "{\"split\": \"test\", \"error\": ";
  test::expect_error([&] { make_run_report(run.str(), *validation_, "v", options); },
                     {run.sub(kEvalFile), "not valid JSON"});
  std::ofstream(run.sub(kEvalFile)) << R"({"test": {"error": 3}})";
  test::expect_error([&] { read_recorded_evaluation(run.str()); },
                     {run.sub(kEvalFile), "fraction"});
  std::ofstream(run.sub(kEvalFile)) << R"({"error": 0.1})";
  test::expect_error([&] { read_recorded_evaluation(run.str()); },
                     {run.sub(kEvalFile), "neither a \"test\" nor a \"validation\""});
  // Only a validation result: shown as such.
  std::ofstream(run.sub(kEvalFile)) << R"({"validation": {"error": 0.025}})";
  const std::optional<RecordedEvaluation> validation = read_recorded_evaluation(run.str());
  ASSERT_TRUE(validation.has_value());
  EXPECT_EQ(validation->split, "validation");
  EXPECT_DOUBLE_EQ(validation->error, 0.025);
}

TEST_F(Report, TrainingCurvesNeedOnlyTheMetrics) {
  TempDir out("curves");
  write_training_curves(dir_->str(), out.sub("c.svg"));
  const std::string svg = read_text(out.sub("c.svg"));
  EXPECT_NE(svg.find(">" + run_name(dir_->str()) + ": training curves, 1 epochs"),
            std::string::npos);
  const std::string csv = out.sub("run-a.csv");
  fs::copy_file(fs::path(dir_->str()) / kMetricsFile, csv);
  write_training_curves(csv, out.sub("c.png"));
  EXPECT_GT(fs::file_size(out.sub("c.png")), 1000u);
  test::expect_error([&] { write_training_curves(out.str(), out.sub("d.png")); },
                     {out.sub("metrics.csv"), "cannot open"});
  std::ofstream(out.sub("bad.csv")) << "epoch,steps\n1,x\n";
  test::expect_error([&] { write_training_curves(out.sub("bad.csv"), out.sub("d.png")); },
                     {out.sub("bad.csv")});
}

TEST_F(Report, MissingFilesAreNamed) {
  TempDir empty("empty");
  test::expect_error([&] { make_run_report(empty.str(), *validation_, "v", {}); },
                     {empty.sub("model.ram")});
  fs::copy_file(fs::path(dir_->str()) / kModelFile, fs::path(empty.str()) / kModelFile);
  test::expect_error([&] { make_run_report(empty.str(), *validation_, "v", {}); },
                     {empty.sub("metrics.csv"), "cannot open"});
  ReportOptions bad;
  bad.animations = -1;
  test::expect_error([&] { make_run_report(dir_->str(), *validation_, "v", bad); }, {"animations"});
  bad.animations = 1;
  bad.mistakes = -1;
  test::expect_error([&] { make_run_report(dir_->str(), *validation_, "v", bad); }, {"mistakes"});
}

// Opens the report in headless Chromium and reads back the DOM after the page's scripts ran.
TEST_F(Report, EveryImageLoadsInHeadlessChromium) {
  const char* const chromium = "/usr/bin/chromium";
  if (!fs::exists(chromium))
    GTEST_SKIP() << chromium << " is missing (scripts/setup.sh installs Debian's chromium)";
  ReportOptions options;
  options.animations = 4;
  const std::string page = dir_->sub("report.html");
  write_run_report(dir_->str(), page, *validation_, "random digits", options);
  EXPECT_TRUE(fs::exists(dir_->sub(kCurvesFile)));

  TempDir profile("chromium-profile");
  const std::string dom = dir_->sub("dom.html"), log = dir_->sub("chromium.log");
  const std::string browser = std::string("timeout 60 ") + chromium +
                              " --headless --no-sandbox --disable-gpu --disable-dev-shm-usage"
                              " --disable-background-networking --no-first-run --user-data-dir=" +
                              profile.str() + " --virtual-time-budget=5000 --window-size=1200,900";
  const std::string command = browser + " --dump-dom file://" + page + " > " + dom + " 2> " + log;
  const int status = std::system(command.c_str());
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << command << "\n" << read_text(log);
  const std::string html = read_text(dom);
  const std::size_t images_expected = 5 + 6;  // curves, 4 animations, 6 mistakes
  EXPECT_NE(html.find("images loaded: " + std::to_string(images_expected) + " of " +
                      std::to_string(images_expected)),
            std::string::npos)
      << html.substr(0, 2000);
  // The summary is laid out at the top of the first screen, right under the title.
  std::smatch top;
  ASSERT_TRUE(std::regex_search(html, top, std::regex("id=\"summary\" data-top=\"([0-9]+)\"")))
      << html.substr(0, 3000);
  const int summary_top = std::stoi(top[1]);
  EXPECT_GT(summary_top, 20);
  EXPECT_LT(summary_top, 200);

  // A screenshot of the first screen shows it: the summary's tinted box, with dark text in it.
  const std::string shot = dir_->sub("report.png");
  const std::string screenshot = browser + " --hide-scrollbars --screenshot=" + shot + " file://" +
                                 page + " > " + log + " 2>&1";
  const int shot_status = std::system(screenshot.c_str());
  ASSERT_TRUE(WIFEXITED(shot_status) && WEXITSTATUS(shot_status) == 0) << read_text(log);
  png_image png{};
  png.version = PNG_IMAGE_VERSION;
  ASSERT_TRUE(png_image_begin_read_from_file(&png, shot.c_str())) << png.message;
  png.format = PNG_FORMAT_RGB;
  std::vector<std::uint8_t> rgb(PNG_IMAGE_SIZE(png));
  ASSERT_TRUE(png_image_finish_read(&png, nullptr, rgb.data(), 0, nullptr)) << png.message;
  ASSERT_EQ(png.width, 1200u);
  const auto pixel = [&](int x, int y) {
    const std::size_t i = (static_cast<std::size_t>(y) * png.width + x) * 3;
    return std::array<int, 3>{rgb[i], rgb[i + 1], rgb[i + 2]};
  };
  int tinted = 0, dark = 0;
  for (int y = summary_top; y < summary_top + 150; ++y)
    for (int x = 0; x < 1100; ++x) {
      const auto p = pixel(x, y);
      tinted += p == std::array<int, 3>{0xf6, 0xf8, 0xfa};  // #summary's background
      dark += p[0] < 80 && p[1] < 80 && p[2] < 80;
    }
  EXPECT_GT(tinted, 50000);  // the box spans the page
  EXPECT_GT(dark, 300);      // and holds text
  const std::regex width("data-natural-width=\"([0-9]+)\"");
  std::size_t images = 0;
  for (auto it = std::sregex_iterator(html.begin(), html.end(), width);
       it != std::sregex_iterator(); ++it) {
    ++images;
    EXPECT_GT(std::stoi((*it)[1]), 100) << "an image decoded with width " << (*it)[1];
  }
  EXPECT_EQ(images, images_expected);
  EXPECT_NE(html.find("id=\"confusion\""), std::string::npos);
  EXPECT_NE(html.find("model.glimpse_size"), std::string::npos);
}

}  // namespace
}  // namespace ram::viz
