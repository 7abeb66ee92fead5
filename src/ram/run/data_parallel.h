#pragma once
// Data-parallel gradient of one batch, for every trainer: the batch's rows are split over the
// run's workers (the threads of every process, process after process) in fixed contiguous
// ranges, each worker computes its rows' loss sums and gradient into its own workspace and
// buffer, and the buffers are then added in worker order, so that a seed and the number of
// workers fix the result whatever the scheduling and however the workers are split between
// processes (Processes::sum_in_worker_order).
#include <algorithm>
#include <cstddef>
#include <type_traits>
#include <vector>

#include "ram/nn/parameters.h"
#include "ram/run/processes.h"
#include "ram/util/thread_pool.h"

namespace ram {

template <typename Workspace, typename Sums>
class DataParallelGradient {
  static_assert(std::is_trivially_copyable_v<Sums>, "sums travel between processes as bytes");

 public:
  DataParallelGradient(std::size_t parameters, ThreadPool& pool, Processes processes = {})
      : pool_(pool),
        processes_(processes),
        workspaces_(pool.size()),
        grads_(pool.size(), AlignedVector<float>(parameters)),
        sums_(pool.size()) {}

  // Calls rows_gradient(lo, hi, workspace, gradient) -> Sums on thread k of process r, worker
  // w = r * threads + k of W = processes * threads, for the rows [rows * w / W,
  // rows * (w + 1) / W) (skipped when empty), with the thread's gradient buffer zeroed; returns
  // the sums of every worker added in worker order. gradient() then holds the sum of every
  // worker's gradient, on every process.
  template <typename RowsGradient>
  Sums compute(int rows, RowsGradient&& rows_gradient) {
    const int threads = pool_.size();
    const long long workers = static_cast<long long>(threads) * processes_.size();
    pool_.run(threads, [&](int k, int) {
      const long long w = static_cast<long long>(processes_.rank()) * threads + k;
      const int lo = static_cast<int>(rows * w / workers);
      const int hi = static_cast<int>(rows * (w + 1) / workers);
      std::fill(grads_[k].begin(), grads_[k].end(), 0.0f);
      sums_[k] = Sums{};
      if (hi > lo) sums_[k] = rows_gradient(lo, hi, workspaces_[k], grads_[k].data());
    });
    Sums total;
    if (processes_.distributed()) {
      processes_.sum_in_worker_order(grads_);
      for (const Sums& s : processes_.all_gather(std::span<const Sums>(sums_))) total += s;
    } else {
      add_thread_gradients();
      for (const Sums& s : sums_) total += s;
    }
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
  const Processes processes_;
  std::vector<Workspace> workspaces_;        // one per thread
  std::vector<AlignedVector<float>> grads_;  // one per thread; [0] holds the sum
  std::vector<Sums> sums_;                   // one per thread
};

}  // namespace ram
