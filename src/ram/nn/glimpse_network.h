#pragma once
// The glimpse network f_g (shared by every agent that looks through the retina):
//   h_g = ReLU(rho W_what + b_what)                      [B x h_g]
//   h_l = ReLU(l W_where + b_where)                      [B x h_l]
//   g   = ReLU(h_g W_out_what + h_l W_out_where + b_out) [B x g]
// with rho the retina output [B x k*gw*gw] and l the clipped location [B x 2]. The location is
// data: backward gives no gradient for it.
#include "ram/nn/layers.h"
#include "ram/nn/parameters.h"
#include "ram/nn/tensor.h"

namespace ram {

template <typename T>
class GlimpseNetwork {
 public:
  GlimpseNetwork(int retina_size, int glimpse_hidden, int location_hidden, int features)
      : retina_(retina_size),
        glimpse_hidden_(glimpse_hidden),
        location_hidden_(location_hidden),
        features_(features) {}

  int features() const { return features_; }

  void add_parameters(ParamLayout& layout) {
    what_w_ = layout.weight("glimpse.what.weight", retina_, glimpse_hidden_);  // [R x h_g]
    what_b_ = layout.bias("glimpse.what.bias", glimpse_hidden_);
    where_w_ = layout.weight("glimpse.where.weight", 2, location_hidden_);  // [2 x h_l]
    where_b_ = layout.bias("glimpse.where.bias", location_hidden_);
    out_what_w_ =
        layout.weight("glimpse.out_what.weight", glimpse_hidden_, features_);  // [h_g x g]
    out_where_w_ =
        layout.weight("glimpse.out_where.weight", location_hidden_, features_);  // [h_l x g]
    out_b_ = layout.bias("glimpse.out.bias", features_);
  }

  // Fills hidden_glimpse, hidden_location and feature (sized by the caller) for the rows of
  // `glimpse`.
  void forward(const T* params, ConstMatMap<T> glimpse, ConstMatMap<T> location,
               MatMap<T> hidden_glimpse, MatMap<T> hidden_location, MatMap<T> feature) const {
    linear_forward<T>(glimpse, view(params, what_w_), row(params, what_b_), hidden_glimpse);
    relu_forward(hidden_glimpse);
    linear_forward<T>(location, view(params, where_w_), row(params, where_b_), hidden_location);
    relu_forward(hidden_location);
    linear_forward<T>(hidden_glimpse, view(params, out_what_w_), row(params, out_b_), feature);
    step_product(hidden_location, view(params, out_where_w_), feature, true);
    relu_forward(feature);
  }

  // dfeature [B x g] holds dLoss/dg and is overwritten; dhidden_glimpse and dhidden_location
  // are scratch. Accumulates the parameter gradients into grads. Nothing feeds back into the
  // recurrence (the location is data), so B may be every step's rows at once.
  void backward(const T* params, T* grads, ConstMatMap<T> glimpse, ConstMatMap<T> location,
                ConstMatMap<T> hidden_glimpse, ConstMatMap<T> hidden_location,
                ConstMatMap<T> feature, MatMap<T> dfeature, Mat<T>& dhidden_glimpse,
                Mat<T>& dhidden_location) const {
    relu_backward(feature, dfeature);
    linear_backward_params<T>(hidden_glimpse, dfeature, view(grads, out_what_w_),
                              row(grads, out_b_));
    view(grads, out_where_w_).noalias() += hidden_location.transpose() * dfeature;
    linear_backward_input<T>(dfeature, view(params, out_what_w_), dhidden_glimpse, false);
    linear_backward_input<T>(dfeature, view(params, out_where_w_), dhidden_location, false);
    relu_backward(hidden_glimpse, dhidden_glimpse);
    relu_backward(hidden_location, dhidden_location);
    linear_backward_params<T>(glimpse, dhidden_glimpse, view(grads, what_w_), row(grads, what_b_));
    linear_backward_params<T>(location, dhidden_location, view(grads, where_w_),
                              row(grads, where_b_));
  }

  // Multiply-adds x2 of one row's forward pass.
  double forward_flops() const {
    const double R = retina_, Hg = glimpse_hidden_, Hl = location_hidden_, G = features_;
    return 2.0 * (R * Hg + 2 * Hl + Hg * G + Hl * G);
  }

 private:
  int retina_, glimpse_hidden_, location_hidden_, features_;
  ParamSlot what_w_, what_b_, where_w_, where_b_, out_what_w_, out_where_w_, out_b_;
};

}  // namespace ram
