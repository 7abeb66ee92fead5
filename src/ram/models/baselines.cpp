#include "ram/models/baselines.h"

#include "ram/util/error.h"
#include "ram/util/rng.h"

namespace ram {

int BaselineConfig::hidden_units() const {
  if (architecture == "fc64") return 64;
  if (architecture == "conv" && image_height == 100 && image_width == 100) return 86;
  return 256;
}

bool is_baseline_architecture(const std::string& architecture) {
  return architecture == "fc64" || architecture == "fc256" || architecture == "conv";
}

void validate(const BaselineConfig& c) {
  constexpr ConfigCheck require{"baseline configuration"};
  require(is_baseline_architecture(c.architecture),
          "unknown architecture '" + c.architecture + "' (known: fc64, fc256, conv)");
  require(
      c.image_height >= 1 && c.image_width >= 1 && c.image_height <= 4096 && c.image_width <= 4096,
      "image size must be in 1..4096");
  require(c.classes >= 2 && c.classes <= 256, "classes must be in 2..256");
  require(c.conv_filters >= 1 && c.conv_filters <= 1024, "conv filters must be in 1..1024");
  require(c.conv_kernel >= 1 && c.conv_kernel <= std::min(c.image_height, c.image_width),
          "the conv kernel must fit the image");
  require(c.conv_stride >= 1 && c.conv_stride <= c.conv_kernel,
          "the conv stride must be in 1..kernel");
}

template <typename T>
BaselineModel<T>::BaselineModel(const BaselineConfig& config) : config_(config) {
  validate(config_);
  conv_shape_ = {config_.image_height, config_.image_width, config_.conv_kernel,
                 config_.conv_stride};
  const int N = config_.hidden_units();
  if (config_.architecture == "conv") {
    const int kk = config_.conv_kernel * config_.conv_kernel;
    conv_w_ = layout_.weight("conv.W", kk, config_.conv_filters);
    conv_b_ = layout_.bias("conv.b", config_.conv_filters);
  }
  int in = input_size();
  for (int layer = 0; layer < config_.hidden_layers(); ++layer) {
    const std::string name = "hidden" + std::to_string(layer + 1);
    hidden_w_.push_back(layout_.weight(name + ".W", in, N));
    hidden_b_.push_back(layout_.bias(name + ".b", N));
    in = N;
  }
  out_w_ = layout_.weight("action.W", N, config_.classes);
  out_b_ = layout_.bias("action.b", config_.classes);
}

template <typename T>
int BaselineModel<T>::input_size() const {
  return config_.architecture == "conv" ? conv_shape_.positions() * config_.conv_filters
                                        : config_.image_height * config_.image_width;
}

template <typename T>
void BaselineModel<T>::initialize(std::span<T> params, std::uint64_t seed,
                                  double init_range) const {
  if (params.size() != layout_.total()) throw Error("initialize: parameter buffer has wrong size");
  for (std::size_t k = 0; k < layout_.slots().size(); ++k) {
    const ParamSlot& slot = layout_.slots()[k];
    Rng rng(seed, {0xba5e, k});
    for (std::size_t i = 0; i < slot.size(); ++i)
      params[slot.offset + i] = slot.is_bias ? T(0) : T(rng.uniform(-init_range, init_range));
  }
}

template <typename T>
void BaselineModel<T>::forward(const T* params, const float* images, int count, LocationMode,
                               const T*, Workspace& ws) const {
  const int B = count, N = config_.hidden_units();
  ws.rows = B;
  const bool conv = config_.architecture == "conv";
  if (conv) {
    conv2d_patches(images, B, conv_shape_, ws.input);
    ws.conv.resize(B, input_size());
    conv2d_forward<T>(ws.input, view<T>(params, conv_w_), row<T>(params, conv_b_), ws.conv);
    relu_forward(ws.conv);
  } else {
    ws.input = ConstMatMap<float>(images, B, input_size()).template cast<T>();
  }
  ws.hidden.resize(hidden_w_.size());
  for (std::size_t layer = 0; layer < hidden_w_.size(); ++layer) {
    const Mat<T>& in = layer > 0 ? ws.hidden[layer - 1] : (conv ? ws.conv : ws.input);
    ws.hidden[layer].resize(B, N);
    linear_forward<T>(in, view<T>(params, hidden_w_[layer]), row<T>(params, hidden_b_[layer]),
                      ws.hidden[layer]);
    relu_forward(ws.hidden[layer]);
  }
  ws.logits.resize(B, config_.classes);
  ws.probs.resize(B, config_.classes);
  linear_forward<T>(ws.hidden.back(), view<T>(params, out_w_), row<T>(params, out_b_), ws.logits);
  softmax_forward(ws.logits, ws.probs);
}

template <typename T>
LossSums BaselineModel<T>::loss_sums(const std::uint8_t* labels, const Workspace& ws) const {
  LossSums sums;
  for (int i = 0; i < ws.rows; ++i) {
    sums.cross_entropy += static_cast<double>(cross_entropy(ws.probs(i, labels[i])));
    Eigen::Index predicted;
    ws.probs.row(i).maxCoeff(&predicted);
    if (predicted == labels[i]) sums.correct += 1;
  }
  sums.images = ws.rows;
  return sums;
}

template <typename T>
void BaselineModel<T>::backward(const T* params, const std::uint8_t* labels, const LossWeights&,
                                T scale, Workspace& ws, T* grads) const {
  const bool conv = config_.architecture == "conv";
  ws.dlogits.resize(ws.rows, config_.classes);
  softmax_cross_entropy_backward(ws.probs, labels, scale, ws.dlogits);
  linear_backward_params<T>(ws.hidden.back(), ws.dlogits, view<T>(grads, out_w_),
                            row<T>(grads, out_b_));
  ws.dcur.resize(ws.rows, ws.hidden.back().cols());
  linear_backward_input<T>(ws.dlogits, view<T>(params, out_w_), ws.dcur, false);
  for (std::size_t layer = hidden_w_.size(); layer-- > 0;) {
    relu_backward(ws.hidden[layer], ws.dcur);
    const Mat<T>& in = layer > 0 ? ws.hidden[layer - 1] : (conv ? ws.conv : ws.input);
    linear_backward_params<T>(in, ws.dcur, view<T>(grads, hidden_w_[layer]),
                              row<T>(grads, hidden_b_[layer]));
    if (layer == 0 && !conv) break;  // the input is data
    ws.dnext.resize(ws.rows, in.cols());
    linear_backward_input<T>(ws.dcur, view<T>(params, hidden_w_[layer]), ws.dnext, false);
    std::swap(ws.dcur, ws.dnext);
  }
  if (conv) {
    relu_backward(ws.conv, ws.dcur);
    conv2d_backward_params<T>(ws.input, ws.dcur, view<T>(grads, conv_w_), row<T>(grads, conv_b_));
  }
}

template <typename T>
double BaselineModel<T>::forward_flops() const {
  double macs = 0;
  if (config_.architecture == "conv")
    macs += static_cast<double>(conv_shape_.positions()) * config_.conv_kernel *
            config_.conv_kernel * config_.conv_filters;
  for (const ParamSlot& w : hidden_w_) macs += static_cast<double>(w.size());
  macs += static_cast<double>(out_w_.size());
  return 2 * macs;
}

template class BaselineModel<float>;
template class BaselineModel<double>;

}  // namespace ram
