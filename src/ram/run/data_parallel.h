#pragma once
// Data-parallel gradient of one batch, for every trainer: the batch's rows are split over the
// pool's threads in fixed contiguous ranges, each thread computes its rows' loss sums and
// gradient into its own workspace and buffer, and the buffers are then added in thread order,
// so that a seed and a thread count fix the result whatever the scheduling.
#include <algorithm>
#include <cstddef>
#include <vector>

#include "ram/nn/parameters.h"
#include "ram/util/thread_pool.h"

namespace ram {

template <typename Workspace, typename Sums>
class DataParallelGradient {
 public:
  DataParallelGradient(std::size_t parameters, ThreadPool& pool)
      : pool_(pool),
        workspaces_(pool.size()),
        grads_(pool.size(), AlignedVector<float>(parameters)),
        sums_(pool.size()) {}

  // Calls rows_gradient(lo, hi, workspace, gradient) -> Sums on thread k for the rows
  // [rows * k / threads, rows * (k + 1) / threads) (skipped when empty), with the thread's
  // gradient buffer zeroed; returns the sums added in thread order. gradient() then holds the
  // sum of the threads' gradients.
  template <typename RowsGradient>
  Sums compute(int rows, RowsGradient&& rows_gradient) {
    const int threads = pool_.size();
    pool_.run(threads, [&](int k, int) {
      const int lo = rows * k / threads, hi = rows * (k + 1) / threads;
      std::fill(grads_[k].begin(), grads_[k].end(), 0.0f);
      sums_[k] = Sums{};
      if (hi > lo) sums_[k] = rows_gradient(lo, hi, workspaces_[k], grads_[k].data());
    });
    add_thread_gradients();
    Sums total;
    for (const Sums& s : sums_) total += s;
    return total;
  }

  AlignedVector<float>& gradient() { return grads_[0]; }

 private:
  // grads_[0] += grads_[1] + ... in thread order, with the parameter range split over the pool.
  void add_thread_gradients() {
    constexpr std::size_t kChunk = 16384;
    if (grads_.size() < 2) return;
    const std::size_t n = grads_[0].size();
    pool_.run(static_cast<int>((n + kChunk - 1) / kChunk), [&](int c, int) {
      const std::size_t lo = static_cast<std::size_t>(c) * kChunk, hi = std::min(n, lo + kChunk);
      for (std::size_t k = 1; k < grads_.size(); ++k)
        for (std::size_t i = lo; i < hi; ++i) grads_[0][i] += grads_[k][i];
    });
  }

  ThreadPool& pool_;
  std::vector<Workspace> workspaces_;        // one per thread
  std::vector<AlignedVector<float>> grads_;  // one per thread; [0] holds the sum
  std::vector<Sums> sums_;                   // one per thread
};

}  // namespace ram
