// The data-parallel gradient: rows split into contiguous ranges in thread order, each thread's
// buffer zeroed before use, buffers and sums added in thread order.
#include "ram/run/data_parallel.h"

#include <gtest/gtest.h>

#include <utility>
#include <vector>

namespace {

struct RowSums {
  double rows = 0;
  std::vector<std::pair<int, int>> ranges;  // in the order the sums were added
  RowSums& operator+=(const RowSums& o) {
    rows += o.rows;
    ranges.insert(ranges.end(), o.ranges.begin(), o.ranges.end());
    return *this;
  }
};

struct Scratch {
  int uses = 0;
};

TEST(DataParallelGradient, SplitsRowsInThreadOrderAndAddsEveryThreadsGradient) {
  constexpr std::size_t kParameters = 40000;  // more than one reduction chunk
  for (int threads : {1, 2, 3, 5}) {
    SCOPED_TRACE(std::to_string(threads) + " threads");
    ram::ThreadPool pool(threads);
    ram::DataParallelGradient<Scratch, RowSums> gradient(kParameters, pool);
    for (int pass = 0; pass < 2; ++pass) {  // the second pass must not see the first's buffers
      const int rows = 7;
      const RowSums sums = gradient.compute(rows, [&](int lo, int hi, Scratch& s, float* g) {
        ++s.uses;
        for (int r = lo; r < hi; ++r)
          for (std::size_t i = 0; i < kParameters; ++i) g[i] += static_cast<float>(r + 1);
        RowSums out;
        out.rows = hi - lo;
        out.ranges.emplace_back(lo, hi);
        return out;
      });
      EXPECT_EQ(sums.rows, rows);
      // Contiguous ranges covering 0..rows in order; empty ranges are not called.
      int next = 0;
      for (const auto& [lo, hi] : sums.ranges) {
        EXPECT_EQ(lo, next);
        EXPECT_GT(hi, lo);
        next = hi;
      }
      EXPECT_EQ(next, rows);
      // 1 + 2 + ... + 7 in every parameter, exactly (small integers).
      for (std::size_t i = 0; i < kParameters; i += 997) ASSERT_EQ(gradient.gradient()[i], 28.0f);
      EXPECT_EQ(gradient.gradient()[kParameters - 1], 28.0f);
    }
  }
}

}  // namespace
