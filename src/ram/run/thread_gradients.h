#pragma once
// The reduction step of data-parallel training: each thread computed its rows' gradient into
// its own buffer; buffers[0] becomes their sum, added in thread order (so a seed and a thread
// count fix the result), with the parameter range split over the pool.
#include <algorithm>
#include <cstddef>
#include <vector>

#include "ram/nn/parameters.h"
#include "ram/util/thread_pool.h"

namespace ram {

inline void add_thread_gradients(std::vector<AlignedVector<float>>& buffers, ThreadPool& pool) {
  constexpr std::size_t kChunk = 16384;
  if (buffers.size() < 2) return;
  const std::size_t n = buffers[0].size();
  pool.run(static_cast<int>((n + kChunk - 1) / kChunk), [&](int c, int) {
    const std::size_t lo = static_cast<std::size_t>(c) * kChunk, hi = std::min(n, lo + kChunk);
    for (std::size_t k = 1; k < buffers.size(); ++k)
      for (std::size_t i = lo; i < hi; ++i) buffers[0][i] += buffers[k][i];
  });
}

}  // namespace ram
