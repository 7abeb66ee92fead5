// The glimpse sensor's geometry, pinned by exact pixel values (see retina.h for the convention:
// pixel (r, c) covers [c, c+1) x [r, r+1); a patch of side w around centre (cx, cy) starts at
// column round(cx - w/2), row round(cy - w/2), halves rounded up).
#include "ram/nn/retina.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "ram/util/error.h"

namespace {

using ram::RetinaConfig;

// height x width image with pixel (r, c) = r * 10 + c.
std::vector<float> ramp_image(int height, int width) {
  std::vector<float> img(static_cast<std::size_t>(height * width));
  for (int r = 0; r < height; ++r)
    for (int c = 0; c < width; ++c)
      img[static_cast<std::size_t>(r * width + c)] = float(r * 10 + c);
  return img;
}

// A black image with one pixel of value 1 at (r, c).
std::vector<float> dot_image(int height, int width, int r, int c) {
  std::vector<float> img(static_cast<std::size_t>(height * width), 0.0f);
  img[static_cast<std::size_t>(r * width + c)] = 1.0f;
  return img;
}

std::vector<float> glimpse(const RetinaConfig& rc, const std::vector<float>& img, int height,
                           int width, double x, double y) {
  std::vector<float> out(static_cast<std::size_t>(rc.output_size()), -1.0f);
  ram::retina_extract(rc, img.data(), height, width, x, y, out.data());
  return out;
}

// Value of patch pixel (r, c) at scale s of a scale-major output.
float at(const std::vector<float>& out, const RetinaConfig& rc, int s, int r, int c) {
  const int gw = rc.glimpse_size;
  return out[static_cast<std::size_t>(s * gw * gw + r * gw + c)];
}

// Location (x, y) whose centre is the middle of pixel (r, c).
double x_of_column(int c, int width) {
  return (c + 0.5) / width * 2.0 - 1.0;
}
double y_of_row(int r, int height) {
  return (r + 0.5) / height * 2.0 - 1.0;
}

TEST(Retina, OutputSizeAndValidation) {
  EXPECT_EQ((RetinaConfig{4, 3}.output_size()), 48);
  EXPECT_NO_THROW(ram::validate(RetinaConfig{4, 3}));
  EXPECT_THROW(ram::validate(RetinaConfig{0, 1}), ram::Error);
  EXPECT_THROW(ram::validate(RetinaConfig{4, 0}), ram::Error);
  EXPECT_THROW(ram::validate(RetinaConfig{4, 9}), ram::Error);
}

TEST(Retina, CentreGlimpseIsTheMiddlePixels) {
  const RetinaConfig rc{4, 1};
  const auto img = ramp_image(10, 10);
  const auto out = glimpse(rc, img, 10, 10, 0.0, 0.0);
  // Centre (5, 5); patch rows 3..6, cols 3..6.
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) EXPECT_EQ(at(out, rc, 0, r, c), float((r + 3) * 10 + (c + 3)));
}

TEST(Retina, CornerGlimpseReadsZeroOutsideTheImage) {
  const RetinaConfig rc{4, 1};
  const auto img = ramp_image(10, 10);
  const auto out = glimpse(rc, img, 10, 10, -1.0, -1.0);
  // Centre at the image's top-left corner: patch rows/cols -2..1. Only the patch's bottom-right
  // quadrant lies inside, holding the image's top-left 2x2 pixels; the rest is zero.
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) {
      const float expected = (r >= 2 && c >= 2) ? float((r - 2) * 10 + (c - 2)) : 0.0f;
      EXPECT_EQ(at(out, rc, 0, r, c), expected) << "patch pixel " << r << "," << c;
    }
  // Bottom-right corner: only the top-left quadrant is inside, holding pixels 8..9 x 8..9.
  const auto br = glimpse(rc, img, 10, 10, 1.0, 1.0);
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) {
      const float expected = (r < 2 && c < 2) ? float((r + 8) * 10 + (c + 8)) : 0.0f;
      EXPECT_EQ(at(br, rc, 0, r, c), expected) << "patch pixel " << r << "," << c;
    }
}

TEST(Retina, SecondScaleAveragesTwoByTwoBlocks) {
  const RetinaConfig rc{4, 2};
  const auto img = ramp_image(10, 10);
  const auto out = glimpse(rc, img, 10, 10, 0.0, 0.0);
  // Scale 1: side 8 from row/col 1; block (r, c) averages rows 1+2r..2+2r, cols 1+2c..2+2c:
  // ((1+2r)*10 + 1+2c) + 5.5.
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) EXPECT_EQ(at(out, rc, 1, r, c), float(16.5 + 20 * r + 2 * c));
  // Scale 0 is unchanged by adding a scale.
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) EXPECT_EQ(at(out, rc, 0, r, c), float((r + 3) * 10 + (c + 3)));
}

TEST(Retina, BlocksPartlyOutsideAverageOverTheFullBlock) {
  // gw 3, two scales at the top-left corner: scale 1 has side 6 from row/col -3, so block row 1
  // covers rows -1..0: half outside. Outside pixels count as zero in the average.
  const RetinaConfig rc{3, 2};
  const auto img = ramp_image(10, 10);
  const auto out = glimpse(rc, img, 10, 10, -1.0, -1.0);
  EXPECT_EQ(at(out, rc, 1, 0, 0), 0.0f);
  EXPECT_EQ(at(out, rc, 1, 1, 1), 0.0f / 4);             // only pixel (0, 0) = 0
  EXPECT_EQ(at(out, rc, 1, 1, 2), (1.0f + 2.0f) / 4);    // pixels (0, 1), (0, 2)
  EXPECT_EQ(at(out, rc, 1, 2, 1), (10.0f + 20.0f) / 4);  // pixels (1, 0), (2, 0)
  EXPECT_EQ(at(out, rc, 1, 2, 2), (11.0f + 12.0f + 21.0f + 22.0f) / 4);
}

TEST(Retina, XMovesColumnsAndYMovesRows) {
  const RetinaConfig rc{4, 1};
  const auto img = ramp_image(10, 10);
  const auto centre = glimpse(rc, img, 10, 10, 0.0, 0.0);
  // 0.2 in location units is one pixel on a 10-pixel side.
  const auto right = glimpse(rc, img, 10, 10, 0.2, 0.0);
  const auto down = glimpse(rc, img, 10, 10, 0.0, 0.2);
  const auto up_right = glimpse(rc, img, 10, 10, 0.2, -0.2);
  for (std::size_t n = 0; n < centre.size(); ++n) {
    EXPECT_EQ(right[n], centre[n] + 1.0f);
    EXPECT_EQ(down[n], centre[n] + 10.0f);
    EXPECT_EQ(up_right[n], centre[n] + 1.0f - 10.0f);
  }
}

TEST(Retina, NonSquareImageMapsXToWidthAndYToHeight) {
  const RetinaConfig rc{2, 1};
  const auto img = ramp_image(6, 10);  // 6 rows, 10 columns
  const auto out = glimpse(rc, img, 6, 10, 0.0, 0.0);
  // Centre (column 5, row 3): patch rows 2..3, cols 4..5.
  EXPECT_EQ(at(out, rc, 0, 0, 0), 24.0f);
  EXPECT_EQ(at(out, rc, 0, 0, 1), 25.0f);
  EXPECT_EQ(at(out, rc, 0, 1, 0), 34.0f);
  EXPECT_EQ(at(out, rc, 0, 1, 1), 35.0f);
  const auto right_edge = glimpse(rc, img, 6, 10, 1.0, 0.0);  // centre column 10
  EXPECT_EQ(at(right_edge, rc, 0, 0, 0), 29.0f);
  EXPECT_EQ(at(right_edge, rc, 0, 0, 1), 0.0f);
}

TEST(Retina, OutputIsScaleMajor) {
  // A dot at the centre pixel of each scale's patch, one value per scale, 1/4^s.
  const RetinaConfig rc{4, 3};
  const auto img = dot_image(16, 16, 6, 9);
  const auto out = glimpse(rc, img, 16, 16, x_of_column(9, 16), y_of_row(6, 16));
  ASSERT_EQ(out.size(), 48u);
  std::vector<float> expected(48, 0.0f);
  expected[0 * 16 + 1 * 4 + 1] = 1.0f;
  expected[1 * 16 + 1 * 4 + 1] = 0.25f;
  expected[2 * 16 + 1 * 4 + 1] = 1.0f / 16;
  EXPECT_EQ(out, expected);
}

TEST(Retina, DotLandsWhereTheGeometrySaysAtEveryScale) {
  // Glimpse centred on the middle of pixel (6, 9) of a 16x16 image (exact binary locations).
  // A patch of side w = gw * 2^s then starts at row 6 + 1 - w/2, column 9 + 1 - w/2, so a dot
  // at (6 + dr, 9 + dc) sits at full-resolution offset (w/2 - 1 + dr, w/2 - 1 + dc), in block
  // offset / 2^s, and reads 1 / 4^s.
  const RetinaConfig rc{4, 3};
  const int H = 16, W = 16, r0 = 6, c0 = 9, gw = rc.glimpse_size;
  const double x = x_of_column(c0, W), y = y_of_row(r0, H);

  // Pinned by hand: dot two rows below and three columns left of the centre.
  {
    const auto out = glimpse(rc, dot_image(H, W, r0 + 2, c0 - 3), H, W, x, y);
    std::vector<float> expected(48, 0.0f);
    // scale 0: offset (3, -2): column outside the 4x4 patch, nothing visible
    expected[1 * 16 + 2 * 4 + 0] = 0.25f;      // scale 1: offset (5, 0) -> block (2, 0)
    expected[2 * 16 + 2 * 4 + 1] = 1.0f / 16;  // scale 2: offset (9, 4) -> block (2, 1)
    EXPECT_EQ(out, expected);
  }

  for (int dr = -6; dr <= 9; dr += 3)
    for (int dc = -9; dc <= 6; dc += 5) {
      const auto out = glimpse(rc, dot_image(H, W, r0 + dr, c0 + dc), H, W, x, y);
      std::vector<float> expected(48, 0.0f);
      for (int s = 0; s < rc.scales; ++s) {
        const int f = 1 << s, w = gw * f;
        const int orow = w / 2 - 1 + dr, ocol = w / 2 - 1 + dc;
        if (orow < 0 || orow >= w || ocol < 0 || ocol >= w) continue;
        expected[static_cast<std::size_t>(s * gw * gw + (orow / f) * gw + ocol / f)] =
            1.0f / float(f * f);
      }
      EXPECT_EQ(out, expected) << "dot offset (" << dr << ", " << dc << ")";
    }
}

TEST(Retina, EveryScaleIsTheAverageOfItsBlocks) {
  // Six scales (blocks of 1 to 32 pixels a side, which the retina averages by different code
  // paths) against a direct sum over each block's pixels inside the image. Pixels are multiples
  // of 1/256, so every sum is exact in float and the comparison can be exact.
  const RetinaConfig rc{3, 6};
  const int H = 50, W = 70, gw = rc.glimpse_size;
  std::vector<float> img(static_cast<std::size_t>(H * W));
  for (std::size_t n = 0; n < img.size(); ++n) img[n] = float((n * 37 + n / 7) % 256) / 256.0f;
  for (const auto& [x, y] : {std::pair{0.0, 0.0}, {-0.9, 0.35}, {0.6, -1.0}, {1.0, 0.8}}) {
    const auto out = glimpse(rc, img, H, W, x, y);
    for (int s = 0; s < rc.scales; ++s) {
      const int f = 1 << s, side = gw * f;
      const int row0 = ram::patch_origin(ram::location_to_pixel(y, H), side);
      const int col0 = ram::patch_origin(ram::location_to_pixel(x, W), side);
      for (int r = 0; r < gw; ++r)
        for (int c = 0; c < gw; ++c) {
          double sum = 0.0;
          for (int i = row0 + r * f; i < row0 + (r + 1) * f; ++i)
            for (int j = col0 + c * f; j < col0 + (c + 1) * f; ++j)
              if (i >= 0 && i < H && j >= 0 && j < W)
                sum += img[static_cast<std::size_t>(i * W + j)];
          EXPECT_EQ(double(at(out, rc, s, r, c)), sum / (f * f))
              << "location (" << x << ", " << y << "), scale " << s << ", block (" << r << ", " << c
              << ")";
        }
    }
  }
}

TEST(Retina, OutputDependsOnPixelsNearTheGlimpseNotOnImageSize) {
  // The same local scene - a dot and a fainter neighbour - around a glimpse centred on the dot,
  // in a 20x20 and a 200x200 image: identical outputs. Locations are exact binary fractions.
  const RetinaConfig rc{4, 3};
  auto small = dot_image(20, 20, 7, 12);
  small[static_cast<std::size_t>(9 * 20 + 10)] = 0.5f;
  auto large = dot_image(200, 200, 37, 62);
  large[static_cast<std::size_t>(39 * 200 + 60)] = 0.5f;
  const auto a = glimpse(rc, small, 20, 20, x_of_column(12, 20), y_of_row(7, 20));
  const auto b = glimpse(rc, large, 200, 200, x_of_column(62, 200), y_of_row(37, 200));
  EXPECT_EQ(x_of_column(12, 20), 0.25);
  EXPECT_EQ(x_of_column(62, 200), -0.375);
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.size(), 48u);
  EXPECT_EQ(at(a, rc, 0, 1, 1), 1.0f);
  EXPECT_EQ(at(a, rc, 0, 3, 0), 0.0f);    // the neighbour at offset (2, -2) is outside scale 0
  EXPECT_EQ(at(a, rc, 1, 2, 0), 0.125f);  // scale 1: offset (5, 1) -> block (2, 0): 0.5 / 4
}

TEST(Retina, DoublePrecisionOutputMatchesFloat) {
  const RetinaConfig rc{4, 2};
  const auto img = ramp_image(10, 10);
  const auto f = glimpse(rc, img, 10, 10, 0.3, -0.7);
  std::vector<double> d(static_cast<std::size_t>(rc.output_size()));
  ram::retina_extract(rc, img.data(), 10, 10, 0.3, -0.7, d.data());
  for (std::size_t n = 0; n < f.size(); ++n) EXPECT_EQ(d[n], double(f[n]));
}

}  // namespace

// A diverged policy produces NaN or enormous locations; the retina must stay defined (the
// sanitizer build caught an int overflow here) and read the centre for NaN, zeros far outside.
TEST(Retina, NonFiniteAndHugeLocationsAreSafe) {
  const ram::RetinaConfig retina{4, 3};
  std::vector<float> image(20 * 20, 1.0f);
  std::vector<float> out(retina.output_size()), centre(retina.output_size());
  ram::retina_extract(retina, image.data(), 20, 20, 0.0, 0.0, centre.data());
  ram::retina_extract(retina, image.data(), 20, 20, std::nan(""), std::nan(""), out.data());
  EXPECT_EQ(out, centre);
  for (double far : {1e300, -1e300, std::numeric_limits<double>::infinity(), 3e9}) {
    ram::retina_extract(retina, image.data(), 20, 20, far, far, out.data());
    for (float v : out) EXPECT_EQ(v, 0.0f) << far;
  }
}
