// step_product and step_product_transposed against a plain triple loop in long double, over
// shapes that exercise every block height, whole and partial SIMD panels and scalar tails; their
// accumulate mode; strided views; and that a row's result does not depend on the rows around it
// (how a batch is split).
#include "ram/nn/step_product.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "ram/nn/tensor.h"

namespace {

using ram::Mat;

template <typename T>
Mat<T> random_matrix(int rows, int cols, std::mt19937& gen) {
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  Mat<T> m(rows, cols);
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = static_cast<T>(u(gen));
  return m;
}

// The exact product of the stored values, and the sum of |terms| for each element (the scale
// of its rounding error).
template <typename T>
void reference(const Mat<T>& x, const Mat<T>& w, Mat<long double>& exact,
               Mat<long double>& magnitude) {
  exact.setZero(x.rows(), w.cols());
  magnitude.setZero(x.rows(), w.cols());
  for (Eigen::Index i = 0; i < x.rows(); ++i)
    for (Eigen::Index j = 0; j < w.cols(); ++j)
      for (Eigen::Index k = 0; k < x.cols(); ++k) {
        const long double term = static_cast<long double>(x(i, k)) * w(k, j);
        exact(i, j) += term;
        magnitude(i, j) += std::fabs(term);
      }
}

// A sum of `terms` products, computed in T, is off by at most about terms x eps x the sum of
// |products| (and the rounding of adding `before`).
template <typename T>
void expect_close(const Mat<T>& got, const Mat<long double>& exact,
                  const Mat<long double>& magnitude, const Mat<T>& before, int terms,
                  const char* what) {
  const long double eps = std::numeric_limits<T>::epsilon();
  for (Eigen::Index i = 0; i < got.rows(); ++i)
    for (Eigen::Index j = 0; j < got.cols(); ++j) {
      const long double want = before(i, j) + exact(i, j);
      const long double bound = 2 * eps * ((terms + 2) * magnitude(i, j) + std::fabs(before(i, j)));
      ASSERT_LE(std::fabs(got(i, j) - want), bound)
          << what << " element (" << i << ", " << j << ") of " << got.rows() << " x " << got.cols();
    }
}

template <typename T>
void check_shapes() {
  std::mt19937 gen(11);
  for (int M : {1, 2, 4, 5, 6, 9, 10, 11, 19, 20, 64, 65})
    for (int K : {1, 3, 64, 433})
      for (int N : {1, 3, 4, 7, 8, 15, 16, 17, 31, 32, 33, 48, 130}) {
        const Mat<T> x = random_matrix<T>(M, K, gen), w = random_matrix<T>(K, N, gen);
        Mat<long double> exact, magnitude;
        reference(x, w, exact, magnitude);
        Mat<T> y = random_matrix<T>(M, N, gen);  // overwritten
        const Mat<T> zero = Mat<T>::Zero(M, N);
        ram::step_product(x, w, y, false);
        expect_close(y, exact, magnitude, zero, K, "y = x W:");
        Mat<T> accumulated = random_matrix<T>(M, N, gen);
        const Mat<T> before = accumulated;
        ram::step_product(x, w, accumulated, true);
        expect_close(accumulated, exact, magnitude, before, K, "y += x W:");
        if (::testing::Test::HasFatalFailure()) return;
      }
}

TEST(StepProduct, MatchesTheExactProductInFloat) {
  check_shapes<float>();
}
TEST(StepProduct, MatchesTheExactProductInDouble) {
  check_shapes<double>();
}

// y = d W^T: d [M x N], W [K x N]. Rows up to 33 take the kernel, 64 Eigen's product.
template <typename T>
void check_transposed_shapes() {
  std::mt19937 gen(12);
  for (int M : {1, 2, 3, 5, 6, 10, 11, 20, 32, 33, 64})
    for (int N : {1, 3, 15, 16, 17, 33, 130})
      for (int K : {1, 2, 3, 4, 5, 9, 64}) {
        const Mat<T> d = random_matrix<T>(M, N, gen), w = random_matrix<T>(K, N, gen);
        Mat<long double> exact, magnitude;
        const Mat<T> wt = w.transpose();
        reference(d, wt, exact, magnitude);
        Mat<T> y = random_matrix<T>(M, K, gen);
        ram::step_product_transposed(d, w, y, false);
        expect_close<T>(y, exact, magnitude, Mat<T>::Zero(M, K), N, "y = d W^T:");
        Mat<T> accumulated = random_matrix<T>(M, K, gen);
        const Mat<T> before = accumulated;
        ram::step_product_transposed(d, w, accumulated, true);
        expect_close(accumulated, exact, magnitude, before, N, "y += d W^T:");
        if (::testing::Test::HasFatalFailure()) return;
      }
}

TEST(StepProductTransposed, MatchesTheExactProductInFloat) {
  check_transposed_shapes<float>();
}
TEST(StepProductTransposed, MatchesTheExactProductInDouble) {
  check_transposed_shapes<double>();
}

TEST(StepProductTransposed, ARowsResultDoesNotDependOnTheRowsAroundIt) {
  std::mt19937 gen(6);
  const int M = 20, N = 1024, K = 256;  // a batch of 20 through the LSTM's recurrence
  const Mat<float> d = random_matrix<float>(M, N, gen), w = random_matrix<float>(K, N, gen);
  Mat<float> all(M, K);
  ram::step_product_transposed(d, w, all, false);
  for (int i = 0; i < M; ++i) {
    Mat<float> one(1, K);
    ram::step_product_transposed(d.row(i), w, one, false);
    ASSERT_EQ(one, all.row(i)) << "row " << i;
  }
  Mat<float> split(M, K);
  ram::step_product_transposed(d.topRows(7), w, split.topRows(7), false);
  ram::step_product_transposed(d.bottomRows(M - 7), w, split.bottomRows(M - 7), false);
  EXPECT_EQ(split, all);
}

TEST(StepProduct, ARowsResultDoesNotDependOnTheRowsAroundIt) {
  std::mt19937 gen(5);
  for (int N : {1024, 130, 10}) {
    const int M = 64, K = 256;
    const Mat<float> x = random_matrix<float>(M, K, gen), w = random_matrix<float>(K, N, gen);
    Mat<float> all(M, N);
    ram::step_product(x, w, all, false);
    // One row at a time, and the batch split unevenly as threads might split it.
    for (int i = 0; i < M; ++i) {
      Mat<float> one(1, N);
      ram::step_product(x.row(i), w, one, false);
      ASSERT_EQ(one, all.row(i)) << "row " << i << ", N = " << N;
    }
    Mat<float> split(M, N);
    ram::step_product(x.topRows(23), w, split.topRows(23), false);
    ram::step_product(x.bottomRows(M - 23), w, split.bottomRows(M - 23), false);
    EXPECT_EQ(split, all) << "N = " << N;
  }
}

TEST(StepProduct, ReadsAndWritesStridedViews) {
  std::mt19937 gen(8);
  // x: the leading 40 columns of a 70-column state; W: 40 x 96; y: the middle of a wider cache.
  const Mat<double> state = random_matrix<double>(12, 70, gen);
  const Mat<double> w = random_matrix<double>(40, 96, gen);
  Mat<double> cache = random_matrix<double>(12, 200, gen);
  const Mat<double> before = cache;
  ram::step_product(state.leftCols(40), w, cache.middleCols(50, 96), false);
  const Mat<double> want = state.leftCols(40) * w;
  EXPECT_LT((cache.middleCols(50, 96) - want).cwiseAbs().maxCoeff(), 1e-12);
  EXPECT_EQ(cache.leftCols(50), before.leftCols(50));  // nothing outside y is touched
  EXPECT_EQ(cache.rightCols(54), before.rightCols(54));
}

}  // namespace
