#pragma once
// The paper's baseline networks (Tables 1 and 2), trained by the same trainer as RAM on the same
// rendered images:
//   fc64, fc256  two fully connected ReLU layers of 64 or 256 units, then a linear softmax:
//                x [B x H*W] -> h1 [B x N] -> h2 [B x N] -> logits [B x C]
//   conv         one convolutional layer (F filters of 10x10, stride 5) with ReLU, then a fully
//                connected ReLU layer of 256 units (86 on 100x100 images), then a linear softmax:
//                x -> c [B x P*F] -> h [B x N] -> logits [B x C]
// The paper gives 8 filters in a table caption and 16 in its text; 16 is our default
// (TrainingConfig::conv_filters, `--conv-filters`).
//
// Loss per image: CE = -log p[y] (the trainer divides by the batch size). A baseline has no
// location policy: it takes the LocationMode and draws arguments of the shared trainer interface
// and ignores them.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ram/models/ram_model.h"
#include "ram/nn/layers.h"
#include "ram/nn/parameters.h"
#include "ram/nn/tensor.h"

namespace ram {

struct BaselineConfig {
  std::string architecture = "fc256";  // fc64, fc256 or conv
  int image_height = 28;
  int image_width = 28;
  int classes = 10;
  int conv_filters = 16;
  int conv_kernel = 10;
  int conv_stride = 5;
  // Hidden units per fully connected layer: 64 / 256 for fc64 / fc256; for conv 256, or 86
  // when the image is 100x100 (the paper's size for that task).
  int hidden_units() const;
  int hidden_layers() const { return architecture == "conv" ? 1 : 2; }
  friend bool operator==(const BaselineConfig&, const BaselineConfig&) = default;
};

bool is_baseline_architecture(const std::string& architecture);
void validate(const BaselineConfig& config);  // throws ram::Error

template <typename T>
struct BaselineWorkspace {
  int rows = 0;
  Mat<T> input;                 // [B x H*W] (fc) or patches [B*P x k*k] (conv)
  Mat<T> conv;                  // [B x P*F] after ReLU (conv only)
  std::vector<Mat<T>> hidden;   // per fully connected layer, [B x N] after ReLU
  Mat<T> logits, probs;         // [B x C]
  Mat<T> dlogits, dnext, dcur;  // scratch for backward
};

template <typename T>
class BaselineModel {
 public:
  using Workspace = BaselineWorkspace<T>;
  explicit BaselineModel(const BaselineConfig& config);

  const BaselineConfig& config() const { return config_; }
  const ParamLayout& layout() const { return layout_; }
  std::size_t parameter_count() const { return layout_.total(); }
  int classes() const { return config_.classes; }
  int image_height() const { return config_.image_height; }
  int image_width() const { return config_.image_width; }
  int draws_per_image() const { return 0; }

  // Weights uniform in [-init_range, init_range], biases zero; one random stream per tensor.
  void initialize(std::span<T> params, std::uint64_t seed, double init_range) const;
  // images: count x (H*W) floats. mode and draws are ignored (no policy).
  void forward(const T* params, const float* images, int count, LocationMode mode, const T* draws,
               Workspace& ws) const;
  void assign_rewards(const std::uint8_t*, Workspace&) const {}
  LossSums loss_sums(const std::uint8_t* labels, const Workspace& ws) const;
  // Accumulates scale * dCE/dparams, summed over the rows of ws, into grads. weights is ignored
  // (there is no REINFORCE or baseline term).
  void backward(const T* params, const std::uint8_t* labels, const LossWeights& weights, T scale,
                Workspace& ws, T* grads) const;
  double forward_flops() const;

 private:
  int input_size() const;  // the features the first fully connected layer sees
  BaselineConfig config_;
  Conv2dShape conv_shape_;
  ParamLayout layout_;
  ParamSlot conv_w_, conv_b_, out_w_, out_b_;
  std::vector<ParamSlot> hidden_w_, hidden_b_;
};

extern template class BaselineModel<float>;
extern template class BaselineModel<double>;

}  // namespace ram
