#pragma once
// A labelled set of grey-level images, all rows x cols, values in [0, 1], stored back to back.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace ram {

struct ImageSet {
  int rows = 0;
  int cols = 0;
  std::vector<float> pixels;         // size() * rows * cols, row-major per image
  std::vector<std::uint8_t> labels;  // size()

  std::size_t size() const { return labels.size(); }
  std::size_t image_size() const { return static_cast<std::size_t>(rows) * cols; }
  std::span<const float> image(std::size_t i) const {
    return {pixels.data() + i * image_size(), image_size()};
  }
  std::span<float> image(std::size_t i) { return {pixels.data() + i * image_size(), image_size()}; }
};

}  // namespace ram
