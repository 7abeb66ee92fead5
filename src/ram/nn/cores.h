#pragma once
// The recurrent cores by name, for every agent that lets its configuration choose one.
#include <memory>
#include <string>

#include "ram/nn/core.h"
#include "ram/nn/lstm_core.h"
#include "ram/util/error.h"

namespace ram {

inline bool is_known_core(const std::string& name) {
  return name == "relu" || name == "lstm";
}
inline const char* const kKnownCores = "relu, lstm";

// "relu": the paper's classification core; "lstm": the Catch core. Throws ram::Error otherwise.
template <typename T>
std::unique_ptr<Core<T>> make_core(const std::string& name, int feature_size, int hidden_size) {
  if (name == "relu") return std::make_unique<ReluCore<T>>(feature_size, hidden_size);
  if (name == "lstm") return std::make_unique<LstmCore<T>>(feature_size, hidden_size);
  throw Error("unknown core '" + name + "' (known: " + kKnownCores + ")");
}

}  // namespace ram
