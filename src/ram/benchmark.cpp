#include "ram/benchmark.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>

#include "ram/rng.h"
#include "ram/thread_pool.h"

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

double peak_memory_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

}  // namespace

BenchmarkResult run_benchmark(const TrainingConfig& base, double seconds) {
  using Clock = std::chrono::steady_clock;
  TrainingConfig config = base;
  const RamModel<float> model(config.model);
  BenchmarkResult result;
  result.forward_flops = model.forward_flops();
  result.train_flops = 3 * result.forward_flops;

  // Calibrate: one short epoch gives the rate; then size an epoch to last `seconds`. train()
  // reports images/s for its training phase only, excluding the (tiny) validation pass.
  TrainValidation data;
  data.validation = synthetic_digits(static_cast<std::size_t>(config.batch_size), 7);
  auto timed_epoch = [&](std::size_t images) {
    data.train = synthetic_digits(images, 11);
    config.epochs = 1;
    return train(config, data, "", false).epochs.back().images_per_second;
  };
  const double rate = timed_epoch(static_cast<std::size_t>(config.batch_size) * 20);
  const auto images = static_cast<std::size_t>(
      std::max(rate * seconds, static_cast<double>(config.batch_size) * 20));
  result.train_images_per_second = timed_epoch(images);

  // Evaluation: the same number of seconds over a rendered set.
  const ImageSet rendered = render_evaluation_set(
      config, synthetic_digits(std::max<std::size_t>(images, 256), 13));
  const std::vector<float> params = [&] {
    std::vector<float> p(model.parameter_count());
    model.initialize(p, config.seed, config.init_range);
    return p;
  }();
  ThreadPool pool(config.threads);
  const EvalOptions options = evaluation_options(config, false, 1);
  evaluate(model, params, render_evaluation_set(config, synthetic_digits(256, 17)), options, pool);
  const auto start = Clock::now();
  evaluate(model, params, rendered, options, pool);
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  result.eval_images_per_second = static_cast<double>(rendered.size()) / elapsed;
  result.peak_memory_mib = peak_memory_mib();
  return result;
}

}  // namespace ram
