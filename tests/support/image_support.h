#pragma once
// Checks on rendered pictures shared by the viz tests.
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

}  // namespace ram::test
