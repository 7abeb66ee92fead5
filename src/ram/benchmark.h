#pragma once
// Steady-state throughput of training and evaluation, measured through the same code paths a
// real run uses (train() and evaluate()), on synthetic digits so no data files are needed.
#include <cstdint>

#include "ram/train.h"

namespace ram {

struct BenchmarkResult {
  double train_images_per_second = 0;
  double eval_images_per_second = 0;
  double forward_flops = 0;          // per image, inference
  double train_flops = 0;            // per image, forward + backward (about 3x forward)
  double peak_memory_mib = 0;        // the process's peak resident set
};

// Times training for about `seconds` (after a warm-up epoch) and evaluation likewise.
BenchmarkResult run_benchmark(const TrainingConfig& config, double seconds);

// A labelled set of `count` random 28x28 "digits" (strokes of random grey levels), for timing.
ImageSet synthetic_digits(std::size_t count, std::uint64_t seed);

}  // namespace ram
