// The data-parallel gradient: rows split into contiguous ranges in thread order, each thread's
// buffer zeroed before use, buffers and sums added in thread order.
#include "ram/run/data_parallel.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <utility>
#include <vector>

namespace {

// Which rows were summed, and whether in order: a plain struct, as sums must be to travel
// between processes.
struct RowSums {
  double rows = 0;
  int pieces = 0, lo = -1, hi = -1;  // ranges added, the first one's start, the last one's end
  bool contiguous = true;            // each range started where the one before ended
  RowSums& operator+=(const RowSums& o) {
    if (o.pieces == 0) return *this;
    rows += o.rows;
    if (pieces == 0) lo = o.lo;
    contiguous = contiguous && o.contiguous && (pieces == 0 || o.lo == hi) && o.hi > o.lo;
    hi = o.hi;
    pieces += o.pieces;
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
        out.pieces = 1;
        out.lo = lo;
        out.hi = hi;
        return out;
      });
      EXPECT_EQ(sums.rows, rows);
      // Contiguous ranges covering 0..rows in order; empty ranges are not called.
      EXPECT_TRUE(sums.contiguous);
      EXPECT_EQ(sums.lo, 0);
      EXPECT_EQ(sums.hi, rows);
      EXPECT_EQ(sums.pieces, std::min(threads, rows));
      // 1 + 2 + ... + 7 in every parameter, exactly (small integers).
      for (std::size_t i = 0; i < kParameters; i += 997) ASSERT_EQ(gradient.gradient()[i], 28.0f);
      EXPECT_EQ(gradient.gradient()[kParameters - 1], 28.0f);
    }
  }
}

}  // namespace
