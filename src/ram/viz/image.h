#pragma once
// An 8-bit RGB raster (what a GIF frame or a PNG holds, pixel for pixel; figures are drawn on a
// Canvas and rasterised), and writers for PNG (libpng) and animated GIF (giflib).
// Pictures are for people: the writers report a failure as a ram::Error naming the file.
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ram::viz {

struct Rgb {
  std::uint8_t r = 0, g = 0, b = 0;
  friend bool operator==(const Rgb&, const Rgb&) = default;
};

inline constexpr Rgb kBlack{0, 0, 0};
inline constexpr Rgb kWhite{255, 255, 255};
inline constexpr Rgb kRed{230, 40, 40};
inline constexpr Rgb kGreen{40, 200, 70};
inline constexpr Rgb kBlue{60, 110, 240};
inline constexpr Rgb kYellow{250, 210, 40};

class RgbImage {
 public:
  RgbImage() = default;
  RgbImage(int width, int height, Rgb background = kBlack);

  int width() const { return width_; }
  int height() const { return height_; }
  // Row-major r,g,b bytes, height * width * 3 of them.
  const std::vector<std::uint8_t>& bytes() const { return bytes_; }

  Rgb at(int x, int y) const;
  // Writes outside the image are ignored.
  void set(int x, int y, Rgb colour);
  void fill_rect(int x, int y, int w, int h, Rgb colour);

 private:
  int width_ = 0;
  int height_ = 0;
  std::vector<std::uint8_t> bytes_;
};

// The encoded files as bytes (e.g. to embed in a web page); the write_ functions save them.
std::vector<std::uint8_t> encode_png(const RgbImage& image);
void write_png(const RgbImage& image, const std::filesystem::path& path);

// An animated GIF that loops forever; every frame must have the first frame's size and
// delays_centiseconds holds one delay per frame (a long last delay holds the final picture).
// Colours are mapped to a fixed palette (a 6x6x6 colour cube and 40 extra greys), which keeps
// greyscale digits smooth and the drawing colours recognisable.
std::vector<std::uint8_t> encode_gif(std::span<const RgbImage> frames,
                                     std::span<const int> delays_centiseconds);
void write_gif(std::span<const RgbImage> frames, std::span<const int> delays_centiseconds,
               const std::filesystem::path& path);
// The same with one delay for every frame.
void write_gif(std::span<const RgbImage> frames, int delay_centiseconds,
               const std::filesystem::path& path);

// Standard base64 with padding (for data: URIs).
std::string base64(std::span<const std::uint8_t> bytes);

// Writes bytes to path (replacing it); a failure is a ram::Error naming the file and `kind`
// (what the file holds, e.g. "PNG").
void write_file(const std::filesystem::path& path, std::span<const std::uint8_t> bytes,
                std::string_view kind);

}  // namespace ram::viz
