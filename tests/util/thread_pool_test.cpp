// ThreadPool: every index runs once, exceptions reach the caller and leave the pool usable, and
// the pool survives many rounds.
#include "ram/util/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <vector>

#include "ram/util/error.h"

namespace {

TEST(ThreadPool, CallsEveryIndexExactlyOnce) {
  for (int threads : {1, 2, 4}) {
    ram::ThreadPool pool(threads);
    EXPECT_EQ(pool.size(), threads);
    for (int count : {0, 1, 3, 1000}) {
      std::vector<std::atomic<int>> calls(static_cast<std::size_t>(count));
      std::atomic<int> bad_thread{0};
      pool.run(count, [&](int i, int thread) {
        calls[static_cast<std::size_t>(i)].fetch_add(1);
        if (thread < 0 || thread >= threads) bad_thread.fetch_add(1);
      });
      for (int i = 0; i < count; ++i)
        ASSERT_EQ(calls[static_cast<std::size_t>(i)].load(), 1)
            << "index " << i << " of " << count << ", " << threads << " threads";
      EXPECT_EQ(bad_thread.load(), 0);
    }
  }
}

TEST(ThreadPool, PropagatesExceptionsAndStaysUsable) {
  ram::ThreadPool pool(2);
  for (int round = 0; round < 5; ++round) {
    std::atomic<int> calls{0};
    try {
      pool.run(100, [&](int i, int) {
        calls.fetch_add(1);
        if (i == 37) throw std::runtime_error("task 37 failed");
      });
      ADD_FAILURE() << "no exception";
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "task 37 failed");
    }
    EXPECT_EQ(calls.load(), 100);  // the other tasks still ran
    std::atomic<int> after{0};
    pool.run(10, [&](int, int) { after.fetch_add(1); });
    EXPECT_EQ(after.load(), 10);
  }
  EXPECT_THROW(pool.run(3, [](int, int) { throw ram::Error("x"); }), ram::Error);
}

TEST(ThreadPool, ReusableManyTimes) {
  ram::ThreadPool pool(2);
  std::vector<long> out(64);
  for (int round = 0; round < 2000; ++round) {
    pool.run(64, [&](int i, int) { out[static_cast<std::size_t>(i)] = round + i; });
    for (int i = 0; i < 64; ++i) ASSERT_EQ(out[static_cast<std::size_t>(i)], round + i);
  }
}

}  // namespace
