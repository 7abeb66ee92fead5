#pragma once
// The recurrent core f_h: state_t = f_h(state_{t-1}, g_t). The state a core carries may be wider
// than what the rest of the model reads (an LSTM carries h and c); the first output_size()
// columns of the state are h_t, the only part the location, action and baseline nets see.
#include <memory>
#include <string>

#include "ram/nn/layers.h"
#include "ram/nn/parameters.h"
#include "ram/nn/tensor.h"

namespace ram {

template <typename T>
class Core {
 public:
  virtual ~Core() = default;
  virtual int state_size() const = 0;   // S: columns carried from step to step
  virtual int output_size() const = 0;  // H <= S: leading columns of the state that are h_t
  virtual int cache_size() const = 0;   // columns of per-step scratch kept for backward
  virtual void add_parameters(ParamLayout& layout) = 0;

  // state [B x S] from state_prev [B x S] and glimpse feature g [B x G]; cache [B x cache_size].
  virtual void forward(const T* params, ConstMatMap<T> g, ConstMatMap<T> state_prev,
                       MatMap<T> state, MatMap<T> cache) const = 0;

  // P: columns of dpre, the gradient at the step's pre-activations (what backward_params reads).
  virtual int preactivation_size() const = 0;

  // Back through one step's recurrence: dstate [B x S] holds dLoss/dstate and may be
  // overwritten; writes dpre [B x P] and dstate_prev [B x S]. No parameter gradient is formed
  // here: backward_params takes every step's dpre at once.
  virtual void backward_step(const T* params, ConstMatMap<T> state_prev, ConstMatMap<T> state,
                             ConstMatMap<T> cache, MatMap<T> dstate, MatMap<T> dpre,
                             MatMap<T> dstate_prev) const = 0;

  // The parameter gradients of N steps in one go, every matrix holding the N steps' batches
  // stacked (R = N x B rows): from the glimpse features g [R x G], the previous states
  // state_prev [R x S] and dpre [R x P], accumulates into grads and writes dg [R x G]. One
  // product over R rows instead of N products over B rows: the weights are read (and packed by
  // the matrix product) once per episode instead of once per step.
  virtual void backward_params(const T* params, T* grads, ConstMatMap<T> g,
                               ConstMatMap<T> state_prev, ConstMatMap<T> dpre,
                               MatMap<T> dg) const = 0;

  // Multiply-adds x2 of one row's forward step.
  virtual double forward_flops() const = 0;
};

// The paper's classification core: h_t = ReLU(h_{t-1} W_hh + g_t W_hg + b).
template <typename T>
class ReluCore final : public Core<T> {
 public:
  ReluCore(int feature_size, int hidden_size) : features_(feature_size), hidden_(hidden_size) {}
  int state_size() const override { return hidden_; }
  int output_size() const override { return hidden_; }
  int cache_size() const override { return 0; }
  void add_parameters(ParamLayout& layout) override {
    recurrent_ = layout.weight("core.recurrent.weight", hidden_, hidden_);  // [H x H]
    input_ = layout.weight("core.input.weight", features_, hidden_);        // [G x H]
    bias_ = layout.bias("core.bias", hidden_);                              // [1 x H]
  }

  void forward(const T* params, ConstMatMap<T> g, ConstMatMap<T> state_prev, MatMap<T> state,
               MatMap<T>) const override {
    step_product(state_prev, view(params, recurrent_), state, false);
    step_product(g, view(params, input_), state, true);
    state.rowwise() += row(params, bias_);
    state = state.cwiseMax(T(0));
  }

  int preactivation_size() const override { return hidden_; }

  void backward_step(const T* params, ConstMatMap<T>, ConstMatMap<T> state, ConstMatMap<T>,
                     MatMap<T> dstate, MatMap<T> dpre, MatMap<T> dstate_prev) const override {
    dpre = (state.array() > T(0)).select(dstate, T(0));  // [B x H]
    step_product_transposed(dpre, view(params, recurrent_), dstate_prev, false);
  }

  void backward_params(const T* params, T* grads, ConstMatMap<T> g, ConstMatMap<T> state_prev,
                       ConstMatMap<T> dpre, MatMap<T> dg) const override {
    view(grads, recurrent_).noalias() += state_prev.transpose() * dpre;
    view(grads, input_).noalias() += g.transpose() * dpre;
    add_column_sums(dpre, row(grads, bias_));
    dg.noalias() = dpre * view(params, input_).transpose();
  }

  double forward_flops() const override {
    return 2.0 * (double(hidden_) * hidden_ + double(features_) * hidden_);
  }

 private:
  int features_, hidden_;
  ParamSlot recurrent_, input_, bias_;
};

}  // namespace ram
