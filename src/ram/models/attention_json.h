#pragma once
// The JSON fields of the recurrent attention body (nn/recurrent_attention.h) that the
// classifier's and the Catch agent's configurations share, under the same names in both files.
#include <nlohmann/json.hpp>
#include <string>

#include "ram/util/json_fields.h"

namespace ram {

template <typename AgentConfig>
void write_attention_fields(const AgentConfig& c, nlohmann::json& j) {
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
template <typename AgentConfig>
void read_attention_fields(const nlohmann::json& j, AgentConfig& c) {
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
