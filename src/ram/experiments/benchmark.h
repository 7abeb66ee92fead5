#pragma once
// Steady-state throughput of training and evaluation, measured through the same code paths a
// real run uses (train() and evaluate()), on synthetic digits so no data files are needed.
#include <cstdint>

#include "ram/train/train.h"

namespace ram {

struct BenchmarkResult {
  double train_images_per_second = 0;  // 0 when training was not timed
  double eval_images_per_second = 0;   // 0 when evaluation was not timed
  double forward_flops = 0;            // per image, inference
  double train_flops = 0;              // per image, forward + backward (about 3x forward)
  double train_peak_memory_mib =
      0;                            // the process's peak resident set after training (0: not timed)
  double peak_memory_mib = 0;       // the process's peak resident set at the end
  std::size_t eval_set_images = 0;  // rendered evaluation images, timed in repeated passes
};

// Which parts run_benchmark times.
struct BenchmarkParts {
  bool training = true;
  bool evaluation = true;
};

// Times training for about `seconds` (after a warm-up epoch), then evaluation likewise, each
// unless `parts` leaves it out (a profiler then sees one of them alone). Training renders every
// image afresh (placement and clutter), as a real run does, so rendering is part of the training
// time; evaluation runs over a set rendered once (1,000 images, fewer for large canvases so the set
// stays within about 512 MiB), timed in repeated passes until `seconds` have elapsed, rendering not
// timed.
BenchmarkResult run_benchmark(const TrainingConfig& config, double seconds,
                              BenchmarkParts parts = {});

// A labelled set of `count` random 28x28 "digits" (strokes of random grey levels), for timing.
ImageSet synthetic_digits(std::size_t count, std::uint64_t seed);

}  // namespace ram
