#pragma once
// The matrix products of one time step: y [M x N] (+)= x [M x K] * W [K x N] in the forward pass
// and, backward through the recurrence, y [M x K] (+)= d [M x N] * W^T; all row-major, with M a
// thread's share of a batch (10 to 64 rows) and W a layer's weights (up to 256 x 1024).
//
// Why not Eigen's GEMM: for so few rows it spends a quarter of a training step copying W into
// its blocked layout, once per product call, at every glimpse and on every thread. Here W is
// read as it lies: each panel of 2 SIMD vectors of columns is streamed down its K rows (a
// constant stride the hardware prefetcher follows) while a block of MR rows of x accumulates in
// registers, so W is read ceil(M / MR) times and never copied.
//
// Every output element is one running sum over k = 0, 1, ..., K - 1 (a multiply-add per term),
// whatever M is and wherever its row falls in a block: a row's result does not depend on how a
// batch is split between threads. Columns beyond the last whole vector are summed in the same
// order by scalar code.
#include <Eigen/Core>
#include <cstddef>
#include <cstring>
#include <type_traits>

namespace ram {

namespace step_product_detail {

// The widest SIMD register the build targets, in bytes, and the rows of x a block keeps in
// registers: 2 x MR accumulators plus 2 vectors of W must fit in the register file (32 vector
// registers with AVX-512, 16 below it).
#if defined(__AVX512F__)
inline constexpr int kVectorBytes = 64;
inline constexpr int kBlockRows = 10;
#elif defined(__AVX__)
inline constexpr int kVectorBytes = 32;
inline constexpr int kBlockRows = 5;
#else
inline constexpr int kVectorBytes = 16;
inline constexpr int kBlockRows = 5;
#endif

template <typename T>
using Vector [[gnu::vector_size(kVectorBytes)]] = T;

template <typename T>
inline constexpr int kLanes = kVectorBytes / static_cast<int>(sizeof(T));

// Calls visit(first, rows) for M rows cut into blocks of at most max_rows, spread evenly (64
// rows in blocks of at most 10: six of 9 and one of 10, not six of 10 and one of 4).
template <typename Visit>
inline void for_each_row_block(int M, int max_rows, Visit&& visit) {
  const int blocks = (M + max_rows - 1) / max_rows;
  for (int b = 0, first = 0; b < blocks; ++b) {
    const int rows = (M - first) / (blocks - b);
    visit(first, rows);
    first += rows;
  }
}

template <typename T>
inline Vector<T> load(const T* p) {
  Vector<T> v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

template <typename T>
inline void store(T* p, const Vector<T>& v) {
  std::memcpy(p, &v, sizeof v);
}

// Rows [0, MR) of y, columns [0, V * lanes): y (+)= x * W over those columns.
template <typename T, int MR, int V>
inline void block(const T* x, std::ptrdiff_t ldx, const T* w, std::ptrdiff_t ldw, int K, T* y,
                  std::ptrdiff_t ldy, bool accumulate) {
  constexpr int L = kLanes<T>;
  Vector<T> acc[MR][V];
  for (int r = 0; r < MR; ++r)
    for (int v = 0; v < V; ++v) acc[r][v] = Vector<T>{};
  for (int k = 0; k < K; ++k) {
    Vector<T> wk[V];
    for (int v = 0; v < V; ++v) wk[v] = load<T>(w + k * ldw + v * L);
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const T s = x[r * ldx + k];
      for (int v = 0; v < V; ++v) acc[r][v] += s * wk[v];
    }
  }
  for (int r = 0; r < MR; ++r)
    for (int v = 0; v < V; ++v) {
      T* out = y + r * ldy + v * L;
      store<T>(out, accumulate ? load<T>(out) + acc[r][v] : acc[r][v]);
    }
}

// Rows [0, rows) with rows <= kBlockRows, as one block of that height.
template <typename T, int V, int MR = kBlockRows>
inline void rows_block(int rows, const T* x, std::ptrdiff_t ldx, const T* w, std::ptrdiff_t ldw,
                       int K, T* y, std::ptrdiff_t ldy, bool accumulate) {
  if constexpr (MR > 0) {
    if (rows == MR) return block<T, MR, V>(x, ldx, w, ldw, K, y, ldy, accumulate);
    rows_block<T, V, MR - 1>(rows, x, ldx, w, ldw, K, y, ldy, accumulate);
  }
}

// Columns [0, V * lanes) of y for every row, in blocks of at most kBlockRows rows.
template <typename T, int V>
void panel(int M, const T* x, std::ptrdiff_t ldx, const T* w, std::ptrdiff_t ldw, int K, T* y,
           std::ptrdiff_t ldy, bool accumulate) {
  for_each_row_block(M, kBlockRows, [&](int first, int rows) {
    rows_block<T, V>(rows, x + first * ldx, ldx, w, ldw, K, y + first * ldy, ldy, accumulate);
  });
}

// Not inlined, so that a profile counts the products' time here rather than in their callers.
template <typename T>
[[gnu::noinline]] void product(int M, int K, int N, const T* x, std::ptrdiff_t ldx, const T* w,
                               std::ptrdiff_t ldw, T* y, std::ptrdiff_t ldy, bool accumulate) {
  constexpr int L = kLanes<T>;
  int col = 0;
  for (; col + 2 * L <= N; col += 2 * L)
    panel<T, 2>(M, x, ldx, w + col, ldw, K, y + col, ldy, accumulate);
  if (col + L <= N) {
    panel<T, 1>(M, x, ldx, w + col, ldw, K, y + col, ldy, accumulate);
    col += L;
  }
  for (; col < N; ++col)
    for (int i = 0; i < M; ++i) {
      T sum = T(0);
      for (int k = 0; k < K; ++k) sum += x[i * ldx + k] * w[k * ldw + col];
      T& out = y[i * ldy + col];
      out = accumulate ? out + sum : sum;
    }
}

// The transposed product's block: outputs are dot products of a row of d with a row of W, so a
// block keeps kDotRows x kDotCols vector partial sums, reduced across lanes at the end.
#if defined(__AVX512F__)
inline constexpr int kDotRows = 5;
#else
inline constexpr int kDotRows = 2;
#endif
inline constexpr int kDotCols = 4;

// The lanes of v summed pairwise (lane i + half onto lane i, halving), a fixed order.
template <typename T>
inline T lane_sum(const Vector<T>& v) {
  T lanes[kLanes<T>];
  std::memcpy(lanes, &v, sizeof v);
  for (int half = kLanes<T> / 2; half >= 1; half /= 2)
    for (int i = 0; i < half; ++i) lanes[i] += lanes[i + half];
  return lanes[0];
}

// y [MR x KC] (+)= d [MR x N] * W^T, W's KC rows of N.
template <typename T, int MR, int KC>
inline void dot_block(const T* d, std::ptrdiff_t ldd, const T* w, std::ptrdiff_t ldw, int N, T* y,
                      std::ptrdiff_t ldy, bool accumulate) {
  constexpr int L = kLanes<T>;
  Vector<T> acc[MR][KC];
  for (int r = 0; r < MR; ++r)
    for (int j = 0; j < KC; ++j) acc[r][j] = Vector<T>{};
  const int whole = N - N % L;
  for (int n = 0; n < whole; n += L) {
    Vector<T> wn[KC];
    for (int j = 0; j < KC; ++j) wn[j] = load<T>(w + j * ldw + n);
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const Vector<T> dn = load<T>(d + r * ldd + n);
      for (int j = 0; j < KC; ++j) acc[r][j] += dn * wn[j];
    }
  }
  for (int r = 0; r < MR; ++r)
    for (int j = 0; j < KC; ++j) {
      T sum = lane_sum<T>(acc[r][j]);
      for (int n = whole; n < N; ++n) sum += d[r * ldd + n] * w[j * ldw + n];
      T& out = y[r * ldy + j];
      out = accumulate ? out + sum : sum;
    }
}

template <typename T, int MR, int KC = kDotCols>
inline void dot_cols(int cols, const T* d, std::ptrdiff_t ldd, const T* w, std::ptrdiff_t ldw,
                     int N, T* y, std::ptrdiff_t ldy, bool accumulate) {
  if constexpr (KC > 0) {
    if (cols == KC) return dot_block<T, MR, KC>(d, ldd, w, ldw, N, y, ldy, accumulate);
    dot_cols<T, MR, KC - 1>(cols, d, ldd, w, ldw, N, y, ldy, accumulate);
  }
}

template <typename T, int MR = kDotRows>
inline void dot_rows(int rows, int cols, const T* d, std::ptrdiff_t ldd, const T* w,
                     std::ptrdiff_t ldw, int N, T* y, std::ptrdiff_t ldy, bool accumulate) {
  if constexpr (MR > 0) {
    if (rows == MR) return dot_cols<T, MR>(cols, d, ldd, w, ldw, N, y, ldy, accumulate);
    dot_rows<T, MR - 1>(rows, cols, d, ldd, w, ldw, N, y, ldy, accumulate);
  }
}

template <typename T>
[[gnu::noinline]] void transposed_product(int M, int N, int K, const T* d, std::ptrdiff_t ldd,
                                          const T* w, std::ptrdiff_t ldw, T* y, std::ptrdiff_t ldy,
                                          bool accumulate) {
  for (int k = 0; k < K; k += kDotCols) {
    const int cols = K - k < kDotCols ? K - k : kDotCols;
    for_each_row_block(M, kDotRows, [&](int first, int rows) {
      dot_rows<T>(rows, cols, d + first * ldd, ldd, w + k * ldw, ldw, N, y + first * ldy + k, ldy,
                  accumulate);
    });
  }
}

}  // namespace step_product_detail

// Whether step_product takes an argument of type M: row-major storage with contiguous rows (a
// matrix, map or block of one; not a single column, which Eigen stores by column).
template <typename M>
inline constexpr bool kStepProductFits =
    bool(M::IsRowMajor) && int(M::InnerStrideAtCompileTime) == 1 &&
    bool(Eigen::internal::traits<M>::Flags& Eigen::DirectAccessBit);

// y [M x N] = x [M x K] * W [K x N], or y += x * W with accumulate; y must not overlap x or W.
template <typename X, typename W, typename Y>
void step_product(const Eigen::MatrixBase<X>& x, const Eigen::MatrixBase<W>& w,
                  Eigen::MatrixBase<Y> const& y_out, bool accumulate) {
  using T = typename Y::Scalar;
  static_assert(std::is_floating_point_v<T>);
  static_assert(kStepProductFits<X> && kStepProductFits<W> && kStepProductFits<Y>);
  auto& y = const_cast<Eigen::MatrixBase<Y>&>(y_out);
  eigen_assert(x.cols() == w.rows() && y.rows() == x.rows() && y.cols() == w.cols());
  step_product_detail::product<T>(
      static_cast<int>(x.rows()), static_cast<int>(x.cols()), static_cast<int>(w.cols()),
      x.derived().data(), x.derived().outerStride(), w.derived().data(), w.derived().outerStride(),
      y.derived().data(), y.derived().outerStride(), accumulate);
}

// Up to this many rows, step_product_transposed uses its own kernel; above it, Eigen's GEMM,
// whose one copy of W into its blocked layout is then shared by enough rows to pay for itself.
inline constexpr int kTransposedKernelMaxRows = 32;

// y [M x K] = d [M x N] * W^T for W [K x N], or y += d * W^T with accumulate: the recurrent
// product of the backward pass through time, dLoss/dh_(t-1) = dz_t W_h^T. Each output is a dot
// product of two contiguous rows, summed in vector lanes over N then across the lanes, in an
// order that does not depend on M. y must not overlap d or W.
template <typename D, typename W, typename Y>
void step_product_transposed(const Eigen::MatrixBase<D>& d, const Eigen::MatrixBase<W>& w,
                             Eigen::MatrixBase<Y> const& y_out, bool accumulate) {
  using T = typename Y::Scalar;
  static_assert(std::is_floating_point_v<T>);
  static_assert(kStepProductFits<D> && kStepProductFits<W> && kStepProductFits<Y>);
  auto& y = const_cast<Eigen::MatrixBase<Y>&>(y_out);
  eigen_assert(d.cols() == w.cols() && y.rows() == d.rows() && y.cols() == w.rows());
  if (d.rows() > kTransposedKernelMaxRows) {
    if (accumulate)
      y.noalias() += d * w.transpose();
    else
      y.noalias() = d * w.transpose();
    return;
  }
  step_product_detail::transposed_product<T>(
      static_cast<int>(d.rows()), static_cast<int>(d.cols()), static_cast<int>(w.rows()),
      d.derived().data(), d.derived().outerStride(), w.derived().data(), w.derived().outerStride(),
      y.derived().data(), y.derived().outerStride(), accumulate);
}

}  // namespace ram
