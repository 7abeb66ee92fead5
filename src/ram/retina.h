#pragma once
// The glimpse sensor rho(x, l): `scales` square patches centred on l, the first gw x gw pixels,
// each next one twice as wide, every patch reduced to gw x gw by averaging non-overlapping
// 2^s x 2^s blocks. Pixels outside the image read as zero. Its cost depends on gw and scales
// only, never on the image size.
//
// Geometry: l = (x, y) in [-1, 1]^2, x horizontal (columns), y vertical (rows); (0, 0) is the
// image centre and (-1, -1) its top-left corner. In continuous pixel coordinates (pixel (r, c)
// covers [c, c+1) x [r, r+1)) the centre is ((x+1)/2 * width, (y+1)/2 * height); a patch of side
// w starts at column round(cx - w/2) and row round(cy - w/2), rounding halves up.
#include <cmath>
#include <cstddef>
#include <span>

#include "ram/error.h"

namespace ram {

struct RetinaConfig {
  int glimpse_size = 8;  // gw
  int scales = 1;        // k
  int output_size() const { return scales * glimpse_size * glimpse_size; }
};

inline int patch_origin(double centre_pixels, int patch_width) {
  return static_cast<int>(std::floor(centre_pixels - 0.5 * patch_width + 0.5));
}

// Writes retina.output_size() values, scale-major ([scale][row][col]), into out.
template <typename T>
void retina_extract(const RetinaConfig& retina, const float* image, int height, int width,
                    double x, double y, T* out) {
  const int gw = retina.glimpse_size;
  const double cx = (x + 1.0) * 0.5 * width;
  const double cy = (y + 1.0) * 0.5 * height;
  for (int s = 0; s < retina.scales; ++s) {
    const int factor = 1 << s;
    const int side = gw * factor;
    const int col0 = patch_origin(cx, side);
    const int row0 = patch_origin(cy, side);
    const float inv_area = 1.0f / static_cast<float>(factor * factor);
    T* patch = out + static_cast<std::size_t>(s) * gw * gw;
    for (int r = 0; r < gw; ++r) {
      for (int c = 0; c < gw; ++c) {
        // Sum of the factor x factor block, clipped to the image.
        const int rb = row0 + r * factor, cb = col0 + c * factor;
        const int r_lo = std::max(rb, 0), r_hi = std::min(rb + factor, height);
        const int c_lo = std::max(cb, 0), c_hi = std::min(cb + factor, width);
        float sum = 0.0f;
        for (int rr = r_lo; rr < r_hi; ++rr) {
          const float* row = image + static_cast<std::size_t>(rr) * width;
          for (int cc = c_lo; cc < c_hi; ++cc) sum += row[cc];
        }
        patch[r * gw + c] = static_cast<T>(sum * inv_area);
      }
    }
  }
}

inline void validate(const RetinaConfig& retina) {
  if (retina.glimpse_size < 1 || retina.glimpse_size > 256)
    throw Error("retina: glimpse size must be in 1..256, got " +
                std::to_string(retina.glimpse_size));
  if (retina.scales < 1 || retina.scales > 8)
    throw Error("retina: scales must be in 1..8, got " + std::to_string(retina.scales));
}

}  // namespace ram
