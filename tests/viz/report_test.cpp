// The HTML report: its parts, and that a real browser (headless Chromium) loads every image.
#include "ram/viz/report.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>

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
  EXPECT_EQ(count(html, "src=\"data:image/png;base64,"), 1u);
  EXPECT_EQ(count(html, "<img "), 5u);
  EXPECT_NE(html.find("random &lt;digits&gt;"), std::string::npos);
  EXPECT_NE(html.find("<td>model.glimpse_size</td><td>6</td>"), std::string::npos);
  EXPECT_NE(html.find("id=\"error-table\""), std::string::npos);
  EXPECT_NE(html.find("id=\"epochs\""), std::string::npos);
  // The error table shows the error evaluate() measured.
  char error[32];
  std::snprintf(error, sizeof error, "<td>%.2f%%</td></tr>", 100 * r.evaluation.error());
  EXPECT_NE(html.find(error), std::string::npos) << error;
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
  const std::string command = std::string("timeout 60 ") + chromium +
                              " --headless --no-sandbox --disable-gpu --disable-dev-shm-usage"
                              " --disable-background-networking --no-first-run --user-data-dir=" +
                              profile.str() + " --virtual-time-budget=5000 --dump-dom file://" +
                              page + " > " + dom + " 2> " + log;
  const int status = std::system(command.c_str());
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << command << "\n" << read_text(log);
  const std::string html = read_text(dom);
  EXPECT_NE(html.find("images loaded: 5 of 5"), std::string::npos) << html.substr(0, 2000);
  const std::regex width("data-natural-width=\"([0-9]+)\"");
  std::size_t images = 0;
  for (auto it = std::sregex_iterator(html.begin(), html.end(), width);
       it != std::sregex_iterator(); ++it) {
    ++images;
    EXPECT_GT(std::stoi((*it)[1]), 100) << "an image decoded with width " << (*it)[1];
  }
  EXPECT_EQ(images, 5u);
  EXPECT_NE(html.find("id=\"error-table\""), std::string::npos);
  EXPECT_NE(html.find("model.glimpse_size"), std::string::npos);
}

}  // namespace
}  // namespace ram::viz
