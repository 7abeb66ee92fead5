#include "ram/experiments/benchmark.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "ram/util/rng.h"
#include "ram/util/thread_pool.h"

namespace ram {

ImageSet synthetic_digits(std::size_t count, std::uint64_t seed) {
  ImageSet set;
  set.rows = set.cols = 28;
  set.pixels.assign(count * 28 * 28, 0.0f);
  set.labels.resize(count);
  for (std::size_t i = 0; i < count; ++i) {
    Rng rng(seed, {i});
    set.labels[i] = static_cast<std::uint8_t>(rng.below(10));
    auto image = set.image(i);
    // A few thick random strokes in the middle 20x20, roughly a digit's ink.
    for (int stroke = 0; stroke < 4; ++stroke) {
      int r = 4 + static_cast<int>(rng.below(20)), c = 4 + static_cast<int>(rng.below(20));
      for (int k = 0; k < 12; ++k) {
        r = std::clamp(r + static_cast<int>(rng.below(3)) - 1, 4, 23);
        c = std::clamp(c + static_cast<int>(rng.below(3)) - 1, 4, 23);
        image[static_cast<std::size_t>(r) * 28 + c] = static_cast<float>(rng.uniform(0.5, 1.0));
      }
    }
  }
  return set;
}

namespace {

// The peak resident set of this process's address space: VmHWM from /proc/self/status. Not
// getrusage's ru_maxrss, which Linux carries across execve, so a child started by a big parent
// (say, a Python process that has imported torch) would report the parent's size.
double peak_memory_mib() {
  if (std::FILE* f = std::fopen("/proc/self/status", "r")) {
    char line[256];
    long kib = -1;
    while (std::fgets(line, sizeof line, f))
      if (std::sscanf(line, "VmHWM: %ld kB", &kib) == 1) break;
    std::fclose(f);
    if (kib >= 0) return static_cast<double>(kib) / 1024.0;
  }
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

}  // namespace

BenchmarkResult run_benchmark(const TrainingConfig& base, double seconds, BenchmarkParts parts) {
  using Clock = std::chrono::steady_clock;
  TrainingConfig config = base;
  BenchmarkResult result;
  result.forward_flops = forward_flops(config);
  result.train_flops = 3 * result.forward_flops;
  const auto batch = static_cast<std::size_t>(config.batch_size);

  if (parts.training) {
    // Calibrate: one short epoch (also the warm-up) gives the rate; then train for `seconds`
    // over a training set of at most a few thousand digits (more would only add to the
    // peak memory), as many epochs as it takes. train() reports images/s for its training
    // phase only, excluding the (tiny) per-epoch validation pass.
    TrainValidation data;
    data.validation = synthetic_digits(batch, 7);
    data.train = synthetic_digits(batch * 20, 11);
    config.epochs = 1;
    const double rate = train(config, data, "", RunStart::fresh).epochs.back().images_per_second;
    const auto wanted =
        static_cast<std::size_t>(std::max(rate * seconds, static_cast<double>(batch) * 20));
    const std::size_t per_epoch =
        std::min(wanted, std::max<std::size_t>(4096, batch * 20)) / batch * batch;
    config.epochs = static_cast<int>((wanted + per_epoch - 1) / per_epoch);
    data.train = synthetic_digits(per_epoch, 11);
    double images = 0, elapsed = 0;
    for (const EpochMetrics& m : train(config, data, "", RunStart::fresh).epochs) {
      const auto n = static_cast<double>(per_epoch);  // whole batches: per_epoch is a multiple
      images += n;
      elapsed += n / m.images_per_second;
    }
    result.train_images_per_second = images / elapsed;
    result.train_peak_memory_mib = peak_memory_mib();
    config = base;
  }
  if (!parts.evaluation) {
    result.peak_memory_mib = result.train_peak_memory_mib;
    return result;
  }

  // Evaluation: a set rendered once and timed in repeated passes. 1,000 images, the size of
  // the npm split's validation set, so that, as in a real validation pass, the set does not sit
  // in the caches between passes (a few hundred small images would); fewer on large canvases,
  // to keep the set within 512 MiB, but at least one 64-image chunk of evaluate() per thread.
  const std::size_t image_bytes =
      static_cast<std::size_t>(config.task.canvas) * config.task.canvas * sizeof(float);
  const std::size_t min_images = 64 * static_cast<std::size_t>(config.threads);
  const std::size_t eval_images =
      std::max(min_images, std::min<std::size_t>(1000, (std::size_t{512} << 20) / image_bytes));
  const ImageSet rendered = render_evaluation_set(config, synthetic_digits(eval_images, 13));
  result.eval_set_images = rendered.size();
  const std::vector<float> params = [&] {
    std::vector<float> p(parameter_count(config));
    initialize_parameters(config, p);
    return p;
  }();
  ThreadPool pool(config.threads);
  const EvalOptions options = evaluation_options(config, false, 1);
  evaluate_trained(config, params, rendered, options, pool);  // warm-up
  std::size_t passes = 0;
  double elapsed = 0;
  const auto start = Clock::now();
  do {
    evaluate_trained(config, params, rendered, options, pool);
    ++passes;
    elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  } while (elapsed < seconds);
  result.eval_images_per_second = static_cast<double>(passes * rendered.size()) / elapsed;
  result.peak_memory_mib = std::max(result.train_peak_memory_mib, peak_memory_mib());
  return result;
}

}  // namespace ram
