#pragma once
// One flat parameter buffer with named views into it. The gradient buffer and each optimiser
// buffer have the same layout, so the optimiser, checkpointing, gradient comparison and a
// future all-reduce are each one loop over one array.
#include <Eigen/Core>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ram/nn/tensor.h"
#include "ram/util/error.h"
#include "ram/util/rng.h"

namespace ram {

// Buffers of parameters and gradients are aligned to Eigen's widest packet. Eigen's vectorised
// loops peel a number of scalar iterations that depends on where the data sits, which changes
// the order of floating-point sums: with unaligned buffers the same computation could give
// different bits depending on where malloc happened to place them.
template <typename T>
using AlignedVector = std::vector<T, Eigen::aligned_allocator<T>>;

struct ParamSlot {
  std::string name;
  int rows = 0;  // a bias is a 1 x cols slot
  int cols = 0;
  std::size_t offset = 0;
  bool is_bias = false;
  std::size_t size() const { return static_cast<std::size_t>(rows) * cols; }
};

// Views of one slot inside a flat buffer laid out by the slot's ParamLayout.
template <typename T>
MatMap<T> view(T* base, const ParamSlot& s) {
  return MatMap<T>(base + s.offset, s.rows, s.cols);
}
template <typename T>
ConstMatMap<T> view(const T* base, const ParamSlot& s) {
  return ConstMatMap<T>(base + s.offset, s.rows, s.cols);
}
template <typename T>
RowVecMap<T> row(T* base, const ParamSlot& s) {
  return RowVecMap<T>(base + s.offset, static_cast<Eigen::Index>(s.size()));
}
template <typename T>
ConstRowVecMap<T> row(const T* base, const ParamSlot& s) {
  return ConstRowVecMap<T>(base + s.offset, static_cast<Eigen::Index>(s.size()));
}

class ParamLayout {
 public:
  // Names are unique; the returned slot stays valid as later slots are added.
  ParamSlot add(const std::string& name, int rows, int cols, bool is_bias) {
    for (const auto& s : slots_)
      if (s.name == name) throw Error("parameter layout: duplicate parameter name " + name);
    slots_.push_back({name, rows, cols, total_, is_bias});
    total_ += slots_.back().size();
    return slots_.back();
  }
  ParamSlot weight(const std::string& name, int rows, int cols) {
    return add(name, rows, cols, false);
  }
  ParamSlot bias(const std::string& name, int cols) { return add(name, 1, cols, true); }

  const std::vector<ParamSlot>& slots() const { return slots_; }
  std::size_t total() const { return total_; }

 private:
  std::vector<ParamSlot> slots_;
  std::size_t total_ = 0;
};

// Weights uniform in [-range, range], biases zero. Slot k draws from its own stream (seed,
// {key, k}), so that adding a slot leaves the others' initial values alone; `key` tells models
// apart. Throws ram::Error if params does not have the layout's size.
template <typename T>
void initialize_uniform(const ParamLayout& layout, std::span<T> params, std::uint64_t seed,
                        std::uint64_t key, double range) {
  if (params.size() != layout.total()) throw Error("initialize: parameter buffer has wrong size");
  for (std::size_t k = 0; k < layout.slots().size(); ++k) {
    const ParamSlot& slot = layout.slots()[k];
    Rng rng(seed, {key, k});
    for (std::size_t i = 0; i < slot.size(); ++i)
      params[slot.offset + i] = slot.is_bias ? T(0) : T(rng.uniform(-range, range));
  }
}

}  // namespace ram
