#pragma once
// The saved form of AttentionConfig (nn/recurrent_attention.h): fields of the same names in the
// classifier's and the Catch agent's configurations.
#include <nlohmann/json.hpp>
#include <string>

#include "ram/nn/recurrent_attention.h"
#include "ram/util/json_fields.h"

namespace ram {

inline void write_attention_fields(const AttentionConfig& c, nlohmann::json& j) {
  j["glimpse_size"] = c.retina.glimpse_size;
  j["scales"] = c.retina.scales;
  j["glimpse_hidden"] = c.glimpse_hidden;
  j["location_hidden"] = c.location_hidden;
  j["glimpse_features"] = c.glimpse_features;
  j["core_size"] = c.core_size;
  j["core"] = c.core;
  j["location_std"] = c.location_std;
}

// Throws ram::Error naming the first missing or mistyped field.
inline void read_attention_fields(const nlohmann::json& j, AttentionConfig& c) {
  c.retina.glimpse_size = json_field<int>(j, "glimpse_size");
  c.retina.scales = json_field<int>(j, "scales");
  c.glimpse_hidden = json_field<int>(j, "glimpse_hidden");
  c.location_hidden = json_field<int>(j, "location_hidden");
  c.glimpse_features = json_field<int>(j, "glimpse_features");
  c.core_size = json_field<int>(j, "core_size");
  c.core = json_field<std::string>(j, "core");
  c.location_std = json_field<double>(j, "location_std");
}

}  // namespace ram
