#pragma once
// Checks on rendered pictures shared by the viz tests.
#include <string>
#include <utility>

#include "ram/viz/image.h"

namespace ram::test {

// Where `needle` first appears pixel for pixel in `haystack` (top-left corner, scanning rows
// from the top), or (-1, -1).
inline std::pair<int, int> find_image(const viz::RgbImage& haystack, const viz::RgbImage& needle) {
  for (int y = 0; y + needle.height() <= haystack.height(); ++y) {
    for (int x = 0; x + needle.width() <= haystack.width(); ++x) {
      bool same = true;
      for (int r = 0; r < needle.height() && same; ++r)
        for (int c = 0; c < needle.width() && same; ++c)
          same = haystack.at(x + c, y + r) == needle.at(c, r);
      if (same) return {x, y};
    }
  }
  return {-1, -1};
}

inline bool contains_image(const viz::RgbImage& haystack, const viz::RgbImage& needle) {
  return find_image(haystack, needle).first >= 0;
}

// The text as draw_text puts it on a background, with one pixel of background around it.
inline viz::RgbImage text_image(const std::string& text, viz::Rgb colour, viz::Rgb background,
                                int scale = 1) {
  viz::RgbImage image(viz::RgbImage::text_width(text, scale) + 2,
                      viz::RgbImage::text_height(scale) + 2, background);
  image.draw_text(text, 1, 1, colour, scale);
  return image;
}

}  // namespace ram::test
