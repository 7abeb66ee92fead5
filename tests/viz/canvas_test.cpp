#include "ram/viz/canvas.h"

#include <gtest/gtest.h>
#include <png.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "support/test_support.h"

namespace ram::viz {
namespace {

using test::TempDir;

struct DecodedPng {
  int width = 0, height = 0;
  std::vector<std::uint8_t> rgb;
  Rgb at(int x, int y) const {
    const std::size_t i = (static_cast<std::size_t>(y) * width + x) * 3;
    return {rgb[i], rgb[i + 1], rgb[i + 2]};
  }
};

DecodedPng decode(const std::vector<std::uint8_t>& bytes) {
  png_image png{};
  png.version = PNG_IMAGE_VERSION;
  EXPECT_TRUE(png_image_begin_read_from_memory(&png, bytes.data(), bytes.size())) << png.message;
  png.format = PNG_FORMAT_RGB;
  DecodedPng out;
  out.rgb.resize(PNG_IMAGE_SIZE(png));
  EXPECT_TRUE(png_image_finish_read(&png, nullptr, out.rgb.data(), 0, nullptr)) << png.message;
  out.width = static_cast<int>(png.width);
  out.height = static_cast<int>(png.height);
  return out;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

Canvas sample_figure() {
  Canvas c(200, 100, kWhite);
  c.fill_rect(10, 10, 30, 20, kBlue);
  c.stroke_rect(100, 10, 40, 40, kRed, 2);
  c.polyline({{10, 90}, {60, 50}, {110, 80}}, kGreen, 2, true);
  c.circle({170, 70}, 5, kBlack);
  c.text({100, 95}, "title <&> of the figure", kBlack, {14, true, Anchor::middle});
  c.text({8, 60}, "error (%)", kBlack, {10, false, Anchor::middle, true});
  c.grey(std::vector<float>{0.0f, 0.5f, 1.0f, 2.0f}, 2, 2, {150, 80}, 5);
  return c;
}

TEST(Canvas, PngIsDrawnAtTwiceTheLogicalSize) {
  const DecodedPng png = decode(encode_png(sample_figure()));
  EXPECT_EQ(png.width, 400);
  EXPECT_EQ(png.height, 200);
  // The filled rectangle (10..40, 10..30) covers device pixels 20..79 x 20..59 exactly.
  EXPECT_EQ(png.at(20, 20), kBlue);
  EXPECT_EQ(png.at(79, 59), kBlue);
  EXPECT_EQ(png.at(80, 59), kWhite);
  EXPECT_EQ(png.at(19, 20), kWhite);
  // The outline is drawn inside its rectangle: 2 logical pixels, 4 device pixels wide.
  EXPECT_EQ(png.at(200, 40), kRed);
  EXPECT_EQ(png.at(203, 40), kRed);
  EXPECT_EQ(png.at(204, 40), kWhite);
  EXPECT_EQ(png.at(199, 40), kWhite);
  // Grey cells of 5 logical pixels: 0.5 is mid grey, 2.0 is clamped to white.
  EXPECT_EQ(png.at(300 + 15, 160 + 5), (Rgb{128, 128, 128}));
  EXPECT_EQ(png.at(300 + 15, 160 + 15), kWhite);
  EXPECT_EQ(png.at(300 + 5, 160 + 5), kBlack);
  const DecodedPng one = decode(encode_png(sample_figure(), 1));
  EXPECT_EQ(one.width, 200);
}

TEST(Canvas, TextIsAntialiasedRealFont) {
  Canvas c(120, 40, kWhite);
  c.text({10, 28}, "Recurrent", kBlack, {20});
  const RgbImage image = rasterize(c, 1);
  int dark = 0, between = 0;
  for (int y = 0; y < image.height(); ++y)
    for (int x = 0; x < image.width(); ++x) {
      const Rgb p = image.at(x, y);
      dark += p.r < 60;
      between += p.r >= 60 && p.r < 200;
    }
  EXPECT_GT(dark, 50);     // glyphs were drawn
  EXPECT_GT(between, 20);  // with antialiased edges, not a pixel font
  // Measured widths follow the text: longer and bolder is wider, and scale with the size.
  EXPECT_GT(text_width("Recurrent", {20}), text_width("Rec", {20}));
  EXPECT_GT(text_width("Recurrent", {20, true}), text_width("Recurrent", {20}));
  EXPECT_NEAR(text_width("Recurrent", {20}), 2 * text_width("Recurrent", {10}), 0.5);
}

TEST(Canvas, SvgIsXmlWhoseTextStaysText) {
  const std::string svg = encode_svg(sample_figure());
  EXPECT_NE(svg.find("width=\"200\" height=\"100\""), std::string::npos);
  EXPECT_NE(svg.find(">title &lt;&amp;&gt; of the figure</text>"), std::string::npos) << svg;
  EXPECT_NE(svg.find("text-anchor=\"middle\""), std::string::npos);
  EXPECT_NE(svg.find("rotate(-90 8 60)"), std::string::npos);
  EXPECT_NE(svg.find("stroke-dasharray"), std::string::npos);
  EXPECT_NE(svg.find("data:image/png;base64,"), std::string::npos);
  // A real XML parser reads it and finds the title in a <text> element.
  TempDir dir;
  const std::string path = dir.sub("figure.svg");
  write_figure(sample_figure(), path);
  EXPECT_EQ(read_text(path), svg);
  const std::string check =
      "/usr/bin/python3 -c \"import sys, xml.etree.ElementTree as E; "
      "t = [e.text for e in E.parse(sys.argv[1]).iter('{http://www.w3.org/2000/svg}text')]; "
      "sys.exit(0 if 'title <&> of the figure' in t and len(t) == 2 else 1)\" " +
      path;
  if (!std::filesystem::exists("/usr/bin/python3")) GTEST_SKIP() << "no /usr/bin/python3";
  EXPECT_EQ(std::system(check.c_str()), 0) << svg;
}

TEST(Canvas, TheExtensionChoosesTheFormat) {
  TempDir dir;
  write_figure(sample_figure(), dir.sub("a.png"));
  write_figure(sample_figure(), dir.sub("b.SVG"));
  EXPECT_EQ(read_text(dir.sub("a.png")).substr(1, 3), "PNG");
  EXPECT_EQ(read_text(dir.sub("b.SVG")).substr(0, 5), "<?xml");
  test::expect_error([&] { write_figure(sample_figure(), dir.sub("c.jpg")); },
                     {dir.sub("c.jpg"), ".png or .svg"});
  test::expect_error([&] { write_figure(sample_figure(), dir.sub("no/d.png")); },
                     {dir.sub("no/d.png"), "cannot write PNG"});
}

TEST(Canvas, PasteShiftsItemsAndRecordsTexts) {
  Canvas inner(50, 50);
  inner.text({5, 10}, "inner", kBlack);
  inner.stroke_rect(1, 2, 3, 4, kRed);
  Canvas outer(100, 100);
  outer.text({0, 0}, "outer", kBlack);
  outer.paste(inner, {20, 30});
  const std::vector<TextItem> texts = outer.texts();
  ASSERT_EQ(texts.size(), 2u);
  EXPECT_EQ(texts[1].text, "inner");
  EXPECT_EQ(texts[1].at.x, 25);
  EXPECT_EQ(texts[1].at.y, 40);
  const auto& rect = std::get<RectItem>(outer.items().back());
  EXPECT_EQ(rect.x, 21);
  EXPECT_EQ(rect.y, 32);
  test::expect_error(
      [&] {
        outer.grey(std::vector<float>(3), 2, 2, {0, 0}, 1);
      },
      {"3 grey values", "2x2"});
  EXPECT_THROW(Canvas(0, 10), Error);
}

}  // namespace
}  // namespace ram::viz
