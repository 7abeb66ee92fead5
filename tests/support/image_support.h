#pragma once
// Checks on rendered pictures shared by the viz tests.
#include "ram/viz/image.h"

namespace ram::test {

// True if `needle` appears pixel for pixel somewhere in `haystack`.
inline bool contains_image(const viz::RgbImage& haystack, const viz::RgbImage& needle) {
  for (int y = 0; y + needle.height() <= haystack.height(); ++y) {
    for (int x = 0; x + needle.width() <= haystack.width(); ++x) {
      bool same = true;
      for (int r = 0; r < needle.height() && same; ++r)
        for (int c = 0; c < needle.width() && same; ++c)
          same = haystack.at(x + c, y + r) == needle.at(c, r);
      if (same) return true;
    }
  }
  return false;
}

}  // namespace ram::test
