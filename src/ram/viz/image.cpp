#include "ram/viz/image.h"

#include <gif_lib.h>
#include <png.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "ram/util/error.h"

namespace ram::viz {
namespace {

// 5x7 glyphs, one byte a row, bit 4 the leftmost pixel.
using Glyph = std::array<std::uint8_t, 7>;

Glyph glyph_for(char c) {
  static constexpr Glyph kDigits[10] = {
      {0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E}, {0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E},
      {0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F}, {0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E},
      {0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02}, {0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E},
      {0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E}, {0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08},
      {0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E}, {0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C}};
  static constexpr Glyph kLetters[26] = {
      {0x0E, 0x11, 0x11, 0x11, 0x1F, 0x11, 0x11}, {0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E},
      {0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E}, {0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C},
      {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F}, {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10},
      {0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F}, {0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11},
      {0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E}, {0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C},
      {0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11}, {0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F},
      {0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11}, {0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11},
      {0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}, {0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10},
      {0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D}, {0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11},
      {0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E}, {0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04},
      {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}, {0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04},
      {0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A}, {0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11},
      {0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04}, {0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F}};
  if (c >= '0' && c <= '9') return kDigits[c - '0'];
  if (c >= 'A' && c <= 'Z') return kLetters[c - 'A'];
  if (c >= 'a' && c <= 'z') return kLetters[c - 'a'];
  switch (c) {
    case ' ':
      return {0, 0, 0, 0, 0, 0, 0};
    case '.':
      return {0, 0, 0, 0, 0, 0x0C, 0x0C};
    case ':':
      return {0, 0x0C, 0x0C, 0, 0x0C, 0x0C, 0};
    case '%':
      return {0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03};
    case '-':
      return {0, 0, 0, 0x1F, 0, 0, 0};
    case '/':
      return {0, 0x01, 0x02, 0x04, 0x08, 0x10, 0};
    case '=':
      return {0, 0, 0x1F, 0, 0x1F, 0, 0};
    case '(':
      return {0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02};
    case ')':
      return {0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08};
    case '#':
      return {0x0A, 0x0A, 0x1F, 0x0A, 0x1F, 0x0A, 0x0A};
    default:
      return {0x1F, 0x11, 0x11, 0x11, 0x11, 0x11, 0x1F};
  }
}

constexpr int kGlyphWidth = 5;
constexpr int kGlyphHeight = 7;
constexpr int kGlyphAdvance = kGlyphWidth + 1;

// The GIF palette: entries 0..215 are the 6x6x6 cube (levels 0, 51, ..., 255), 216..255 are
// greys between the cube's six grey levels.
constexpr int kCubeLevels = 6;
constexpr int kCubeSize = kCubeLevels * kCubeLevels * kCubeLevels;
constexpr int kExtraGreys = 256 - kCubeSize;

std::array<Rgb, 256> gif_palette() {
  std::array<Rgb, 256> palette{};
  for (int i = 0; i < kCubeSize; ++i) {
    palette[i] = {static_cast<std::uint8_t>(i / 36 * 51), static_cast<std::uint8_t>(i / 6 % 6 * 51),
                  static_cast<std::uint8_t>(i % 6 * 51)};
  }
  for (int i = 0; i < kExtraGreys; ++i) {
    const auto level = static_cast<std::uint8_t>(std::lround(255.0 * (i + 0.5) / kExtraGreys));
    palette[kCubeSize + i] = {level, level, level};
  }
  return palette;
}

int squared_distance(Rgb a, Rgb b) {
  const int dr = a.r - b.r, dg = a.g - b.g, db = a.b - b.b;
  return dr * dr + dg * dg + db * db;
}

// Nearest palette entry of every grey level, so greyscale images keep 46 levels.
std::array<std::uint8_t, 256> grey_to_index(const std::array<Rgb, 256>& palette) {
  std::array<std::uint8_t, 256> table{};
  for (int level = 0; level < 256; ++level) {
    const Rgb grey{static_cast<std::uint8_t>(level), static_cast<std::uint8_t>(level),
                   static_cast<std::uint8_t>(level)};
    int best = 0;
    for (int i = 0; i < 256; ++i) {
      if (palette[i].r != palette[i].g || palette[i].g != palette[i].b) continue;
      if (squared_distance(palette[i], grey) < squared_distance(palette[best], grey)) best = i;
    }
    table[level] = static_cast<std::uint8_t>(best);
  }
  return table;
}

std::uint8_t cube_index(Rgb c) {
  const auto level = [](std::uint8_t v) { return (v + 25) / 51; };
  return static_cast<std::uint8_t>(level(c.r) * 36 + level(c.g) * 6 + level(c.b));
}

}  // namespace

RgbImage::RgbImage(int width, int height, Rgb background) : width_(width), height_(height) {
  if (width <= 0 || height <= 0) throw Error("image size must be positive");
  bytes_.resize(static_cast<std::size_t>(width) * height * 3);
  fill_rect(0, 0, width, height, background);
}

Rgb RgbImage::at(int x, int y) const {
  const std::size_t i = (static_cast<std::size_t>(y) * width_ + x) * 3;
  return {bytes_[i], bytes_[i + 1], bytes_[i + 2]};
}

void RgbImage::set(int x, int y, Rgb colour) {
  if (x < 0 || y < 0 || x >= width_ || y >= height_) return;
  const std::size_t i = (static_cast<std::size_t>(y) * width_ + x) * 3;
  bytes_[i] = colour.r;
  bytes_[i + 1] = colour.g;
  bytes_[i + 2] = colour.b;
}

void RgbImage::fill_rect(int x, int y, int w, int h, Rgb colour) {
  const int x_end = std::min(x + w, width_), y_end = std::min(y + h, height_);
  for (int row = std::max(y, 0); row < y_end; ++row) {
    for (int col = std::max(x, 0); col < x_end; ++col) set(col, row, colour);
  }
}

void RgbImage::draw_rect(int x, int y, int w, int h, Rgb colour, int thickness) {
  fill_rect(x, y, w, thickness, colour);
  fill_rect(x, y + h - thickness, w, thickness, colour);
  fill_rect(x, y, thickness, h, colour);
  fill_rect(x + w - thickness, y, thickness, h, colour);
}

void RgbImage::draw_line(int x0, int y0, int x1, int y1, Rgb colour) {
  // Bresenham: exact integer steps, every pixel of the line set once.
  const int dx = std::abs(x1 - x0), dy = -std::abs(y1 - y0);
  const int step_x = x0 < x1 ? 1 : -1, step_y = y0 < y1 ? 1 : -1;
  int error = dx + dy;
  while (true) {
    set(x0, y0, colour);
    if (x0 == x1 && y0 == y1) return;
    const int twice = 2 * error;
    if (twice >= dy) {
      error += dy;
      x0 += step_x;
    }
    if (twice <= dx) {
      error += dx;
      y0 += step_y;
    }
  }
}

void RgbImage::draw_grey(std::span<const float> grey, int rows, int cols, int x, int y, int scale) {
  if (grey.size() != static_cast<std::size_t>(rows) * cols) {
    throw Error("draw_grey: " + std::to_string(grey.size()) + " values for a " +
                std::to_string(rows) + "x" + std::to_string(cols) + " image");
  }
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) {
      const float v = std::clamp(grey[static_cast<std::size_t>(r) * cols + c], 0.0f, 1.0f);
      const auto level = static_cast<std::uint8_t>(std::lround(v * 255.0f));
      fill_rect(x + c * scale, y + r * scale, scale, scale, {level, level, level});
    }
  }
}

void RgbImage::paste(const RgbImage& other, int x, int y) {
  for (int r = 0; r < other.height(); ++r) {
    for (int c = 0; c < other.width(); ++c) set(x + c, y + r, other.at(c, r));
  }
}

void RgbImage::draw_text(std::string_view text, int x, int y, Rgb colour, int scale) {
  for (char c : text) {
    const Glyph glyph = glyph_for(c);
    for (int r = 0; r < kGlyphHeight; ++r) {
      for (int col = 0; col < kGlyphWidth; ++col) {
        if (glyph[r] & (0x10 >> col))
          fill_rect(x + col * scale, y + r * scale, scale, scale, colour);
      }
    }
    x += kGlyphAdvance * scale;
  }
}

int RgbImage::text_width(std::string_view text, int scale) {
  return text.empty() ? 0 : (static_cast<int>(text.size()) * kGlyphAdvance - 1) * scale;
}

int RgbImage::text_height(int scale) {
  return kGlyphHeight * scale;
}

std::vector<std::uint8_t> encode_png(const RgbImage& image) {
  png_image png{};
  png.version = PNG_IMAGE_VERSION;
  png.width = static_cast<png_uint_32>(image.width());
  png.height = static_cast<png_uint_32>(image.height());
  png.format = PNG_FORMAT_RGB;
  // The first call measures, the second writes.
  png_alloc_size_t size = 0;
  std::vector<std::uint8_t> bytes;
  bool ok = png_image_write_to_memory(&png, nullptr, &size, 0, image.bytes().data(), 0, nullptr);
  if (ok) {
    bytes.resize(size);
    ok = png_image_write_to_memory(&png, bytes.data(), &size, 0, image.bytes().data(), 0, nullptr);
    bytes.resize(size);
  }
  if (!ok) {
    const std::string message = png.message;
    png_image_free(&png);
    throw Error("cannot encode PNG: " + message);
  }
  return bytes;
}

void write_png(const RgbImage& image, const std::filesystem::path& path) {
  std::vector<std::uint8_t> bytes;
  try {
    bytes = encode_png(image);
  } catch (const Error& e) {
    throw Error(path.string() + ": " + e.what());
  }
  write_file(path, bytes, "PNG");
}

namespace {

int append_to_vector(GifFileType* gif, const GifByteType* data, int length) {
  auto* out = static_cast<std::vector<std::uint8_t>*>(gif->UserData);
  out->insert(out->end(), data, data + length);
  return length;
}

}  // namespace

std::vector<std::uint8_t> encode_gif(std::span<const RgbImage> frames,
                                     std::span<const int> delays_centiseconds) {
  if (frames.empty()) throw Error("cannot write a GIF without frames");
  if (delays_centiseconds.size() != frames.size()) {
    throw Error("GIF has " + std::to_string(frames.size()) + " frames but " +
                std::to_string(delays_centiseconds.size()) + " delays");
  }
  const int width = frames[0].width(), height = frames[0].height();
  for (const RgbImage& frame : frames) {
    if (frame.width() != width || frame.height() != height)
      throw Error("GIF frames differ in size");
  }
  static const std::array<Rgb, 256> palette = gif_palette();
  static const std::array<std::uint8_t, 256> grey_index = grey_to_index(palette);

  std::vector<std::uint8_t> bytes;
  int error = 0;
  GifFileType* gif = EGifOpen(&bytes, append_to_vector, &error);
  if (gif == nullptr) throw Error(std::string("cannot write GIF: ") + GifErrorString(error));
  const auto fail = [&](const char* what) {
    const std::string reason = GifErrorString(gif->Error) ? GifErrorString(gif->Error) : "";
    EGifCloseFile(gif, &error);
    throw Error(std::string("cannot write GIF (") + what + "): " + reason);
  };

  std::array<GifColorType, 256> colours{};
  for (int i = 0; i < 256; ++i) colours[i] = {palette[i].r, palette[i].g, palette[i].b};
  ColorMapObject* map = GifMakeMapObject(256, colours.data());
  EGifSetGifVersion(gif, true);
  const int screen = EGifPutScreenDesc(gif, width, height, 8, 0, map);
  GifFreeMapObject(map);
  if (screen == GIF_ERROR) fail("screen");

  // The NETSCAPE2.0 application extension makes viewers loop the animation forever.
  static const GifByteType kLoopForever[3] = {1, 0, 0};
  if (EGifPutExtensionLeader(gif, APPLICATION_EXT_FUNC_CODE) == GIF_ERROR ||
      EGifPutExtensionBlock(gif, 11, "NETSCAPE2.0") == GIF_ERROR ||
      EGifPutExtensionBlock(gif, 3, kLoopForever) == GIF_ERROR ||
      EGifPutExtensionTrailer(gif) == GIF_ERROR) {
    fail("loop extension");
  }

  std::vector<GifPixelType> line(static_cast<std::size_t>(width));
  for (std::size_t f = 0; f < frames.size(); ++f) {
    const RgbImage& frame = frames[f];
    GraphicsControlBlock control{};
    control.DisposalMode = DISPOSAL_UNSPECIFIED;
    control.DelayTime = delays_centiseconds[f];
    control.TransparentColor = NO_TRANSPARENT_COLOR;
    GifByteType extension[4];
    EGifGCBToExtension(&control, extension);
    if (EGifPutExtension(gif, GRAPHICS_EXT_FUNC_CODE, 4, extension) == GIF_ERROR) fail("delay");
    if (EGifPutImageDesc(gif, 0, 0, width, height, false, nullptr) == GIF_ERROR) fail("frame");
    for (int y = 0; y < height; ++y) {
      for (int x = 0; x < width; ++x) {
        const Rgb c = frame.at(x, y);
        line[x] = (c.r == c.g && c.g == c.b) ? grey_index[c.r] : cube_index(c);
      }
      if (EGifPutLine(gif, line.data(), width) == GIF_ERROR) fail("pixels");
    }
  }
  if (EGifCloseFile(gif, &error) == GIF_ERROR) {
    throw Error(std::string("cannot write GIF: ") + GifErrorString(error));
  }
  return bytes;
}

void write_gif(std::span<const RgbImage> frames, std::span<const int> delays_centiseconds,
               const std::filesystem::path& path) {
  std::vector<std::uint8_t> bytes;
  try {
    bytes = encode_gif(frames, delays_centiseconds);
  } catch (const Error& e) {
    throw Error(path.string() + ": " + e.what());
  }
  write_file(path, bytes, "GIF");
}

void write_gif(std::span<const RgbImage> frames, int delay_centiseconds,
               const std::filesystem::path& path) {
  const std::vector<int> delays(frames.size(), delay_centiseconds);
  write_gif(frames, delays, path);
}

void write_file(const std::filesystem::path& path, std::span<const std::uint8_t> bytes,
                std::string_view kind) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) {
    throw Error(path.string() + ": cannot write " + std::string(kind) + ": " +
                std::strerror(errno));
  }
}

}  // namespace ram::viz
