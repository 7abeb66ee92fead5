// Fuzzes the IDX reader (plain and gzipped) through load_idx, the path every IDX data set takes.
// Input: a little-endian u16 n, then n bytes of the images file, then the labels file.
// The only acceptable failure is a ram::Error; any other exception, crash or sanitizer report
// is a finding.
#include <cstddef>
#include <cstdint>

#include "fuzz_support.h"
#include "ram/env/idx.h"
#include "ram/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::size_t split = std::min<std::size_t>(data[0] | (std::size_t{data[1]} << 8), size - 2);
  static const std::string images = ram::fuzz::scratch_path("images-idx3-ubyte");
  static const std::string labels = ram::fuzz::scratch_path("labels-idx1-ubyte");
  ram::fuzz::write_file(images, data + 2, split);
  ram::fuzz::write_file(labels, data + 2 + split, size - 2 - split);
  try {
    const ram::ImageSet set = ram::load_idx(images, labels);
    // What the reader promises of a set it returns.
    if (set.labels.size() * set.image_size() != set.pixels.size()) __builtin_trap();
    for (std::uint8_t label : set.labels)
      if (label > 9) __builtin_trap();
    for (float p : set.pixels)
      if (!(p >= 0.0f && p <= 1.0f)) __builtin_trap();
  } catch (const ram::Error&) {
  }
  return 0;
}
