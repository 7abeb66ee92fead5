#pragma once
// The model's layers, each a forward/backward pair of plain functions over batch-major views.
// Backward functions accumulate (+=) parameter gradients, so several uses of one layer (time
// steps, threads) add up in one gradient buffer. Shapes: B = batch rows.
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "ram/nn/step_product.h"
#include "ram/nn/tensor.h"

namespace ram {

// y [B x O] = x [B x I] * W [I x O] + b [1 x O]
template <typename T, typename X, typename Y>
void linear_forward(const Eigen::MatrixBase<X>& x, const ConstMatMap<T>& W,
                    const ConstRowVecMap<T>& b, Eigen::MatrixBase<Y> const& y_out) {
  auto& y = const_cast<Eigen::MatrixBase<Y>&>(y_out);
  if constexpr (kStepProductFits<X> && kStepProductFits<Y>)
    step_product(x, W, y, false);
  else
    y.noalias() = x * W;  // a column of outputs (the baseline's b), which Eigen stores by column
  y.rowwise() += b;
}

// sums [1 x O] += column sums of dy [B x O], each adding rows 0, 1, ..., B-1 in that order.
// Eigen's colwise().sum() would add some columns row by row and others in pairs of rows,
// choosing which by the address of `sums`: the same gradient would then differ in its last bits
// from one buffer placement (or vector width) to another.
template <typename DY, typename S>
void add_column_sums(const Eigen::MatrixBase<DY>& dy, Eigen::MatrixBase<S> const& sums_out) {
  auto& sums = const_cast<Eigen::MatrixBase<S>&>(sums_out);
  for (Eigen::Index i = 0; i < dy.rows(); ++i) sums += dy.row(i);
}

// dW [I x O] += x^T dy; db [1 x O] += column sums of dy.
template <typename T, typename X, typename DY>
void linear_backward_params(const Eigen::MatrixBase<X>& x, const Eigen::MatrixBase<DY>& dy,
                            MatMap<T> dW, RowVecMap<T> db) {
  dW.noalias() += x.transpose() * dy;
  add_column_sums(dy, db);
}

// dx [B x I] (+)= dy [B x O] * W^T
template <typename T, typename DY, typename DX>
void linear_backward_input(const Eigen::MatrixBase<DY>& dy, const ConstMatMap<T>& W,
                           Eigen::MatrixBase<DX> const& dx_out, bool accumulate) {
  auto& dx = const_cast<Eigen::MatrixBase<DX>&>(dx_out);
  if (accumulate)
    dx.noalias() += dy * W.transpose();
  else
    dx.noalias() = dy * W.transpose();
}

// y = lo + (1 - lo) * sigmoid(x), in place: a value bounded to [lo, 1] (lo < 1).
template <typename Y>
void bounded_sigmoid_forward(Eigen::MatrixBase<Y> const& y_out, typename Y::Scalar lo) {
  using T = typename Y::Scalar;
  auto& y = const_cast<Eigen::MatrixBase<Y>&>(y_out);
  y = (lo + (T(1) - lo) / (T(1) + (-y.array()).exp())).matrix();
}

// dy *= dy/dx = (1 - lo) s (1 - s) = (y - lo)(1 - y) / (1 - lo), in place; y is the output.
template <typename Y, typename DY>
void bounded_sigmoid_backward(const Eigen::MatrixBase<Y>& y, Eigen::MatrixBase<DY> const& dy_out,
                              typename Y::Scalar lo) {
  using T = typename Y::Scalar;
  auto& dy = const_cast<Eigen::MatrixBase<DY>&>(dy_out);
  dy.array() *= (y.array() - lo) * (T(1) - y.array()) / (T(1) - lo);
}

// y = max(x, 0), in place.
template <typename Y>
void relu_forward(Eigen::MatrixBase<Y> const& y_out) {
  auto& y = const_cast<Eigen::MatrixBase<Y>&>(y_out);
  y = y.cwiseMax(typename Y::Scalar(0));
}

// dy *= (y > 0), in place; y is the ReLU's output.
template <typename Y, typename DY>
void relu_backward(const Eigen::MatrixBase<Y>& y, Eigen::MatrixBase<DY> const& dy_out) {
  auto& dy = const_cast<Eigen::MatrixBase<DY>&>(dy_out);
  using S = typename DY::Scalar;
  dy = (y.array() > S(0)).select(dy, S(0));
}

// Row-wise softmax of logits [B x C] into probs [B x C], stable against overflow.
template <typename L, typename P>
void softmax_forward(const Eigen::MatrixBase<L>& logits, Eigen::MatrixBase<P> const& probs_out) {
  auto& probs = const_cast<Eigen::MatrixBase<P>&>(probs_out);
  for (Eigen::Index i = 0; i < logits.rows(); ++i) {
    const auto m = logits.row(i).maxCoeff();
    probs.row(i) = (logits.row(i).array() - m).exp().matrix();
    probs.row(i) /= probs.row(i).sum();
  }
}

// -log probs[label]; guarded so a probability that underflowed to 0 gives a large finite loss.
template <typename T>
T cross_entropy(T prob_of_label) {
  return -std::log(std::max(prob_of_label, T(1e-30)));
}

// d(scale * CE)/dlogits for one row: scale * (probs - onehot(label)).
template <typename P, typename D>
void softmax_cross_entropy_backward(const Eigen::MatrixBase<P>& probs, const std::uint8_t* labels,
                                    typename P::Scalar scale,
                                    Eigen::MatrixBase<D> const& dlogits_out) {
  auto& dlogits = const_cast<Eigen::MatrixBase<D>&>(dlogits_out);
  dlogits = probs * scale;
  for (Eigen::Index i = 0; i < probs.rows(); ++i) dlogits(i, labels[i]) -= scale;
}

// Convolution of single-channel images with F square filters of side k at stride s, no padding,
// as one GEMM over extracted patches (im2col). An image is H x W, row-major; its output has
// P = OH x OW positions, OH = (H - k) / s + 1, OW = (W - k) / s + 1 (floor: pixels past the last
// full filter position are not seen).
//   patches [B*P x k*k]: row b*P + oy*OW + ox holds the k x k window at (oy*s, ox*s), row-major
//   y       [B x P*F]:   y(b, p*F + f) = patches(b*P + p) . W(:, f) + bias(f)
// so y, read as (B*P) x F, is patches * W + bias.
struct Conv2dShape {
  int height = 0, width = 0, kernel = 0, stride = 1;
  int out_height() const { return (height - kernel) / stride + 1; }
  int out_width() const { return (width - kernel) / stride + 1; }
  int positions() const { return out_height() * out_width(); }
};

// images: B x (H*W) floats; patches_out is resized to [B*P x k*k].
template <typename T>
void conv2d_patches(const float* images, int count, const Conv2dShape& c, Mat<T>& patches_out) {
  const int P = c.positions(), OW = c.out_width(), k = c.kernel;
  patches_out.resize(static_cast<Eigen::Index>(count) * P, k * k);
  for (int b = 0; b < count; ++b) {
    const float* image = images + static_cast<std::size_t>(b) * c.height * c.width;
    for (int p = 0; p < P; ++p) {
      const int top = (p / OW) * c.stride, left = (p % OW) * c.stride;
      T* out = patches_out.row(static_cast<Eigen::Index>(b) * P + p).data();
      for (int dy = 0; dy < k; ++dy)
        for (int dx = 0; dx < k; ++dx)
          out[dy * k + dx] = static_cast<T>(image[(top + dy) * c.width + left + dx]);
    }
  }
}

// y [B x P*F] = conv(patches [B*P x k*k], W [k*k x F], b [1 x F]); y must already be B x P*F.
template <typename T>
void conv2d_forward(const Mat<T>& patches, const ConstMatMap<T>& W, const ConstRowVecMap<T>& b,
                    Mat<T>& y) {
  MatMap<T> flat(y.data(), patches.rows(), W.cols());  // (B*P) x F, the same memory as y
  linear_forward<T>(patches, W, b, flat);
}

// dW [k*k x F] += patches^T dy; db [1 x F] += sums of dy over images and positions. The input
// is data (the image), so no gradient with respect to it is formed.
template <typename T>
void conv2d_backward_params(const Mat<T>& patches, const Mat<T>& dy, MatMap<T> dW,
                            RowVecMap<T> db) {
  const ConstMatMap<T> flat(dy.data(), patches.rows(), dW.cols());
  linear_backward_params<T>(patches, flat, dW, db);
}

// Log density of an isotropic Gaussian N(mean, std^2) in d dimensions at x.
template <typename T>
T gaussian_log_density(const T* x, const T* mean, int d, T std) {
  T sq = 0;
  for (int k = 0; k < d; ++k) sq += (x[k] - mean[k]) * (x[k] - mean[k]);
  constexpr double kLogTwoPi = 1.8378770664093453;
  return -sq / (2 * std * std) - T(d) * (std::log(std) + T(0.5 * kLogTwoPi));
}

// log sigmoid(z) = -log(1 + exp(-z)), without overflow for large |z|.
template <typename T>
T log_sigmoid(T z) {
  return z >= T(0) ? -std::log1p(std::exp(-z)) : z - std::log1p(std::exp(z));
}

// log of a Bernoulli probability with P(1) = sigmoid(z), at s = 1 or 0. Its derivative in z
// is s - sigmoid(z).
template <typename T>
T bernoulli_logit_log_prob(T z, bool s) {
  return s ? log_sigmoid(z) : log_sigmoid(-z);
}

}  // namespace ram
