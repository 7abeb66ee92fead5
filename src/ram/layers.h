#pragma once
// The model's layers, each a forward/backward pair of plain functions over batch-major views.
// Backward functions accumulate (+=) parameter gradients, so several uses of one layer (time
// steps, threads) add up in one gradient buffer. Shapes: B = batch rows.
#include <cmath>
#include <cstdint>

#include "ram/tensor.h"

namespace ram {

// y [B x O] = x [B x I] * W [I x O] + b [1 x O]
template <typename T, typename X, typename Y>
void linear_forward(const Eigen::MatrixBase<X>& x, const ConstMatMap<T>& W,
                    const ConstRowVecMap<T>& b, Eigen::MatrixBase<Y> const& y_out) {
  auto& y = const_cast<Eigen::MatrixBase<Y>&>(y_out);
  y.noalias() = x * W;
  y.rowwise() += b;
}

// dW [I x O] += x^T dy; db [1 x O] += column sums of dy.
template <typename T, typename X, typename DY>
void linear_backward_params(const Eigen::MatrixBase<X>& x, const Eigen::MatrixBase<DY>& dy,
                            MatMap<T> dW, RowVecMap<T> db) {
  dW.noalias() += x.transpose() * dy;
  db += dy.colwise().sum();
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
