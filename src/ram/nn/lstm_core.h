#pragma once
// The LSTM core of the Catch agent (the paper's dynamic-environment experiment):
//   z   = g W_x + h_prev W_h + b                                  [B x 4H], gate blocks i f o u
//   i = sigmoid(z_i), f = sigmoid(z_f), o = sigmoid(z_o), u = tanh(z_u)
//   c   = f * c_prev + i * u                                       [B x H]
//   h   = o * tanh(c)                                              [B x H]
// The state is [h, c] (S = 2H; the model reads the leading H columns, h). The cache keeps the
// activated gates and tanh(c) ([B x 5H]) for the backward pass through time.
#include "ram/nn/core.h"

namespace ram {

template <typename T>
class LstmCore final : public Core<T> {
 public:
  LstmCore(int feature_size, int hidden_size) : features_(feature_size), hidden_(hidden_size) {}
  int state_size() const override { return 2 * hidden_; }
  int output_size() const override { return hidden_; }
  int cache_size() const override { return 5 * hidden_; }
  void add_parameters(ParamLayout& layout) override {
    input_ = layout.weight("core.lstm.input.weight", features_, 4 * hidden_);        // [G x 4H]
    recurrent_ = layout.weight("core.lstm.recurrent.weight", hidden_, 4 * hidden_);  // [H x 4H]
    bias_ = layout.bias("core.lstm.bias", 4 * hidden_);                              // [1 x 4H]
  }

  void forward(const T* params, ConstMatMap<T> g, ConstMatMap<T> state_prev, MatMap<T> state,
               MatMap<T> cache) const override {
    const int H = hidden_;
    auto gates = cache.leftCols(4 * H);
    step_product(g, view(params, input_), gates, false);
    step_product(state_prev.leftCols(H), view(params, recurrent_), gates, true);
    gates.rowwise() += row(params, bias_);
    auto sigmoid = gates.leftCols(3 * H).array();
    sigmoid = T(1) / (T(1) + (-sigmoid).exp());
    gates.middleCols(3 * H, H) = gates.middleCols(3 * H, H).array().tanh().matrix();
    const auto i = gates.leftCols(H).array(), f = gates.middleCols(H, H).array(),
               o = gates.middleCols(2 * H, H).array(), u = gates.middleCols(3 * H, H).array();
    state.rightCols(H) = (f * state_prev.rightCols(H).array() + i * u).matrix();
    cache.rightCols(H) = state.rightCols(H).array().tanh().matrix();
    state.leftCols(H) = (o * cache.rightCols(H).array()).matrix();
  }

  int preactivation_size() const override { return 4 * hidden_; }

  void backward_step(const T* params, ConstMatMap<T> state_prev, ConstMatMap<T>,
                     ConstMatMap<T> cache, MatMap<T> dstate, MatMap<T> dz,
                     MatMap<T> dstate_prev) const override {
    const int H = hidden_;
    const auto i = cache.leftCols(H).array(), f = cache.middleCols(H, H).array(),
               o = cache.middleCols(2 * H, H).array(), u = cache.middleCols(3 * H, H).array(),
               tanh_c = cache.rightCols(H).array();
    const auto dh = dstate.leftCols(H).array();
    // dc [B x H], in place: the cell's total gradient, from the future and through h.
    auto dc = dstate.rightCols(H).array();
    dc += dh * o * (T(1) - tanh_c.square());
    // dz [B x 4H]: the gradients of the gates' pre-activations.
    dz.leftCols(H) = (dc * u * i * (T(1) - i)).matrix();
    dz.middleCols(H, H) = (dc * state_prev.rightCols(H).array() * f * (T(1) - f)).matrix();
    dz.middleCols(2 * H, H) = (dh * tanh_c * o * (T(1) - o)).matrix();
    dz.middleCols(3 * H, H) = (dc * i * (T(1) - u.square())).matrix();
    step_product_transposed(dz, view(params, recurrent_), dstate_prev.leftCols(H), false);
    dstate_prev.rightCols(H) = (dc * f).matrix();
  }

  void backward_params(const T* params, T* grads, ConstMatMap<T> g, ConstMatMap<T> state_prev,
                       ConstMatMap<T> dz, MatMap<T> dg) const override {
    view(grads, input_).noalias() += g.transpose() * dz;
    view(grads, recurrent_).noalias() += state_prev.leftCols(hidden_).transpose() * dz;
    add_column_sums(dz, row(grads, bias_));
    dg.noalias() = dz * view(params, input_).transpose();
  }

  double forward_flops() const override {
    return 2.0 * 4.0 * hidden_ * (double(features_) + hidden_);
  }

 private:
  int features_, hidden_;
  ParamSlot input_, recurrent_, bias_;
};

}  // namespace ram
