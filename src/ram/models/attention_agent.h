#pragma once
// What every agent built on the recurrent attention body holds (the classifier of ram_model.h,
// the Catch agent): its configuration, the body, and the layout of its flat parameter buffer,
// the body's slots first and then the agent's own.
#include <cstddef>
#include <cstdint>
#include <span>

#include "ram/nn/parameters.h"
#include "ram/nn/recurrent_attention.h"

namespace ram {

template <typename T, typename Config>
class AttentionAgent {
 public:
  AttentionAgent(const AttentionAgent&) = delete;
  AttentionAgent& operator=(const AttentionAgent&) = delete;

  const Config& config() const { return config_; }
  const ParamLayout& layout() const { return layout_; }
  std::size_t parameter_count() const { return layout_.total(); }

  // Weights uniform in [-init_range, init_range], biases zero.
  void initialize(std::span<T> params, std::uint64_t seed, double init_range) const {
    initialize_uniform(layout_, params, seed, init_key_, init_range);
  }

 protected:
  // `config` already validated; `actions` outputs of the action head; `init_key` keeps the
  // agents' initial values apart for one seed.
  AttentionAgent(const Config& config, int actions, std::uint64_t init_key)
      : config_(config), body_(config, actions), init_key_(init_key) {
    body_.add_parameters(layout_);
  }

  // The std of the workspace's episodes (EpisodeTape::location_std, or the configuration's).
  T location_std(const EpisodeTape<T>& ws) const {
    return T(ws.location_std > 0 ? ws.location_std : config_.location_std);
  }

  Config config_;
  RecurrentAttention<T> body_;
  ParamLayout layout_;

 private:
  std::uint64_t init_key_;
};

}  // namespace ram
