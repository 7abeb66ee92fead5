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
