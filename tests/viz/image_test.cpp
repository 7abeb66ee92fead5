#include "ram/viz/image.h"

#include <gif_lib.h>
#include <gtest/gtest.h>
#include <png.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "support/test_support.h"

namespace ram::viz {
namespace {

using test::TempDir;

std::vector<std::uint8_t> read_png_rgb(const std::string& path, int& width, int& height) {
  png_image png{};
  png.version = PNG_IMAGE_VERSION;
  EXPECT_TRUE(png_image_begin_read_from_file(&png, path.c_str())) << png.message;
  png.format = PNG_FORMAT_RGB;
  std::vector<std::uint8_t> bytes(PNG_IMAGE_SIZE(png));
  EXPECT_TRUE(png_image_finish_read(&png, nullptr, bytes.data(), 0, nullptr)) << png.message;
  width = static_cast<int>(png.width);
  height = static_cast<int>(png.height);
  return bytes;
}

TEST(RgbImage, DrawingClipsAtTheEdges) {
  RgbImage image(10, 8, kBlack);
  image.fill_rect(-5, -5, 8, 8, kRed);  // covers (0..2, 0..2) only
  image.set(10, 3, kGreen);             // outside: ignored
  EXPECT_EQ(image.at(2, 2), kRed);
  EXPECT_EQ(image.at(3, 3), kBlack);
  EXPECT_EQ(image.at(9, 3), kBlack);
}

TEST(WritePng, RoundTripsExactly) {
  TempDir dir;
  RgbImage image(7, 5, kBlue);
  image.set(3, 2, Rgb{1, 2, 3});
  write_png(image, dir.sub("a.png"));
  int width = 0, height = 0;
  EXPECT_EQ(read_png_rgb(dir.sub("a.png"), width, height), image.bytes());
  EXPECT_EQ(width, 7);
  EXPECT_EQ(height, 5);
}

TEST(WritePng, UnwritablePathNamesTheFile) {
  TempDir dir;
  test::expect_error([&] { write_png(RgbImage(2, 2), dir.sub("missing/a.png")); },
                     {"missing/a.png", "PNG"});
}

TEST(WriteGif, FramesDelayLoopAndColoursSurvive) {
  TempDir dir;
  std::vector<RgbImage> frames;
  for (int i = 0; i < 3; ++i) {
    RgbImage frame(16, 12, kBlack);
    frame.fill_rect(0, 0, 16, 6,
                    Rgb{static_cast<std::uint8_t>(i * 100), static_cast<std::uint8_t>(i * 100),
                        static_cast<std::uint8_t>(i * 100)});
    frame.set(15, 11, kRed);
    frames.push_back(frame);
  }
  write_gif(frames, 40, dir.sub("a.gif"));

  int error = 0;
  GifFileType* gif = DGifOpenFileName(dir.sub("a.gif").c_str(), &error);
  ASSERT_NE(gif, nullptr);
  ASSERT_EQ(DGifSlurp(gif), GIF_OK);
  EXPECT_EQ(gif->SWidth, 16);
  EXPECT_EQ(gif->SHeight, 12);
  ASSERT_EQ(gif->ImageCount, 3);
  bool loops = false;
  for (int i = 0; i < gif->SavedImages[0].ExtensionBlockCount; ++i) {
    const ExtensionBlock& block = gif->SavedImages[0].ExtensionBlocks[i];
    if (block.Function == APPLICATION_EXT_FUNC_CODE && block.ByteCount == 11 &&
        std::string(reinterpret_cast<char*>(block.Bytes), 11) == "NETSCAPE2.0") {
      loops = true;
    }
  }
  EXPECT_TRUE(loops);
  for (int i = 0; i < 3; ++i) {
    GraphicsControlBlock control{};
    ASSERT_EQ(DGifSavedExtensionToGCB(gif, i, &control), GIF_OK);
    EXPECT_EQ(control.DelayTime, 40);
    const SavedImage& image = gif->SavedImages[i];
    const ColorMapObject* map = gif->SColorMap;
    const GifColorType top = map->Colors[image.RasterBits[0]];
    EXPECT_NEAR(top.Red, i * 100, 4) << "frame " << i;  // greys keep ~46 levels
    EXPECT_EQ(top.Red, top.Blue);
    const GifColorType corner = map->Colors[image.RasterBits[16 * 12 - 1]];
    EXPECT_GT(corner.Red, 200);  // red stays red
    EXPECT_LT(corner.Green, 80);
  }
  DGifCloseFile(gif, &error);
}

TEST(WriteGif, RejectsMixedSizesAndBadPaths) {
  TempDir dir;
  const std::vector<RgbImage> mixed = {RgbImage(4, 4), RgbImage(5, 4)};
  test::expect_error([&] { write_gif(mixed, 10, dir.sub("a.gif")); }, {"a.gif", "differ"});
  const std::vector<RgbImage> one = {RgbImage(4, 4)};
  test::expect_error([&] { write_gif(one, 10, dir.sub("no/a.gif")); }, {"no/a.gif", "GIF"});
  test::expect_error([&] { write_gif({}, 10, dir.sub("b.gif")); }, {"b.gif", "without frames"});
}

TEST(EncodeInMemory, GivesTheBytesTheWritersSave) {
  RgbImage image(5, 4, kBlue);
  image.set(1, 1, kRed);
  TempDir dir;
  write_png(image, dir.sub("a.png"));
  const std::vector<std::uint8_t> png = encode_png(image);
  ASSERT_GT(png.size(), 8u);
  EXPECT_EQ(png[1], 'P');
  EXPECT_EQ(png[2], 'N');
  EXPECT_EQ(png.size(), std::filesystem::file_size(dir.sub("a.png")));
  const std::vector<RgbImage> frames = {image, image};
  const std::vector<int> delays = {10, 90};
  const std::vector<std::uint8_t> gif = encode_gif(frames, delays);
  ASSERT_GT(gif.size(), 6u);
  EXPECT_EQ(std::string(gif.begin(), gif.begin() + 6), "GIF89a");
  test::expect_error([&] { encode_gif(frames, std::vector<int>{10}); }, {"2 frames", "1 delays"});
  test::expect_error([&] { write_file(dir.sub("no/such.html"), png, "HTML"); },
                     {"no/such.html", "cannot write HTML"});
}

}  // namespace
}  // namespace ram::viz
