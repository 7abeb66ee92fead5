// The machine's single-precision GEMM ceiling, the yardstick for RAM's achieved FLOP/s.
//
// Times C = A * B with Eigen (the library RAM's kernels use, with the same compiler flags) for a
// large square product (1024^3) and for RAM-like shapes (a batch of 20 or 128 rows times a
// 256 x 256 weight matrix). With N threads, each thread multiplies its own independent matrices
// (Eigen is built with EIGEN_DONT_PARALLELIZE, as RAM splits work over its own threads too), and
// the aggregate rate -- all threads' FLOPs over the wall time -- is the ceiling for N cores.
// Each figure is the best of a few trials, so it is a ceiling rather than a typical value.
//
//   gemm_ceiling [--threads N] [--seconds S]      (defaults: 2 threads, 0.4 s per trial)
#include <Eigen/Core>
#include <algorithm>
#include <barrier>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

struct Shape {
  int m, k, n;  // C [m x n] = A [m x k] * B [k x n]
  const char* label;
};

// Aggregate GFLOP/s of `threads` threads each running products of `shape` for about `seconds`.
double measure(const Shape& shape, int threads, double seconds) {
  const double flops_per_product = 2.0 * shape.m * shape.k * shape.n;
  // Calibrate the repetitions per trial on one thread, so all threads do the same fixed work
  // and the wall time is the slowest thread's.
  Matrix a = Matrix::Random(shape.m, shape.k), b = Matrix::Random(shape.k, shape.n);
  Matrix c(shape.m, shape.n);
  c.noalias() = a * b;  // warm-up
  int reps = 1;
  for (;;) {
    const auto start = Clock::now();
    for (int r = 0; r < reps; ++r) c.noalias() = a * b;
    const double t = std::chrono::duration<double>(Clock::now() - start).count();
    if (t > 0.05) {
      reps = std::max(1, static_cast<int>(reps * seconds / t));
      break;
    }
    reps *= 2;
  }

  double best = 0;
  for (int trial = 0; trial < 3; ++trial) {
    std::barrier sync(threads + 1);
    std::vector<float> sink(threads, 0.0f);
    std::vector<std::thread> pool;
    for (int i = 0; i < threads; ++i) {
      pool.emplace_back([&, i] {
        Matrix ai = Matrix::Random(shape.m, shape.k), bi = Matrix::Random(shape.k, shape.n);
        Matrix ci(shape.m, shape.n);
        ci.noalias() = ai * bi;  // touch everything before the clock starts
        sync.arrive_and_wait();
        for (int r = 0; r < reps; ++r) ci.noalias() = ai * bi;
        sync.arrive_and_wait();
        sink[i] = ci(0, 0);
      });
    }
    sync.arrive_and_wait();
    const auto start = Clock::now();
    sync.arrive_and_wait();
    const double t = std::chrono::duration<double>(Clock::now() - start).count();
    for (auto& th : pool) th.join();
    best = std::max(best, flops_per_product * reps * threads / t / 1e9);
  }
  return best;
}

[[noreturn]] void usage(const char* argv0) {
  std::fprintf(stderr, "usage: %s [--threads N] [--seconds S]\n", argv0);
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 2;
  double seconds = 0.4;
  for (int i = 1; i < argc; ++i) {
    if (i + 1 < argc && std::strcmp(argv[i], "--threads") == 0) {
      threads = std::atoi(argv[++i]);
    } else if (i + 1 < argc && std::strcmp(argv[i], "--seconds") == 0) {
      seconds = std::atof(argv[++i]);
    } else {
      usage(argv[0]);
    }
  }
  if (threads < 1 || threads > 256 || !(seconds > 0)) usage(argv[0]);

  const Shape shapes[] = {{1024, 1024, 1024, "1024x1024x1024"},
                          {128, 256, 256, "128x256x256"},
                          {20, 256, 256, "20x256x256"}};
  std::vector<int> counts = {1};
  if (threads > 1) counts.push_back(threads);
  std::printf(
      "Eigen %d.%d.%d float GEMM, C[m x n] = A[m x k] B[k x n], shapes m x k x n, "
      "independent products per thread, best of 3 trials of ~%.2f s\n",
      EIGEN_WORLD_VERSION, EIGEN_MAJOR_VERSION, EIGEN_MINOR_VERSION, seconds);
  double headline[2] = {0, 0};
  for (const Shape& shape : shapes) {
    for (std::size_t j = 0; j < counts.size(); ++j) {
      const double g = measure(shape, counts[j], seconds);
      std::printf("gemm %s GFLOP/s (%d thread%s): %.1f\n", shape.label, counts[j],
                  counts[j] == 1 ? "" : "s", g);
      std::fflush(stdout);
      if (&shape == &shapes[0]) headline[j] = g;
    }
  }
  // The headline figures: the large square product, the usual definition of the ceiling.
  std::printf("gemm GFLOP/s (1 thread): %.1f\n", headline[0]);
  if (threads > 1) std::printf("gemm GFLOP/s (%d threads): %.1f\n", threads, headline[1]);
  return 0;
}
