#pragma once
// Reads one field of a configuration object with its exact JSON type: 2.7 is not an int, true
// is not a number and -1 is not a seed. nlohmann's get<T>() would convert all three silently.
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <type_traits>

#include "ram/util/error.h"

namespace ram {

template <typename T>
T json_field(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) throw Error(std::string("expected an object holding '") + key + "'");
  const auto it = object.find(key);
  if (it == object.end()) throw Error(std::string("missing field '") + key + "'");
  const nlohmann::json& v = *it;
  auto wrong = [&](const char* expected) {
    return Error(std::string("field '") + key + "' must be " + expected + ", got " + v.dump());
  };
  if constexpr (std::is_same_v<T, bool>) {
    if (!v.is_boolean()) throw wrong("true or false");
    return v.get<bool>();
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (!v.is_string()) throw wrong("a string");
    return v.get<std::string>();
  } else if constexpr (std::is_floating_point_v<T>) {
    if (!v.is_number()) throw wrong("a number");
    return v.get<T>();
  } else if constexpr (std::is_unsigned_v<T>) {
    if (!v.is_number_unsigned()) throw wrong("a non-negative integer");
    const auto value = v.get<std::uint64_t>();
    if (value > std::numeric_limits<T>::max()) throw wrong("a smaller integer");
    return static_cast<T>(value);
  } else {
    static_assert(std::is_integral_v<T>);
    if (!v.is_number_integer()) throw wrong("an integer");
    const auto value = v.get<std::int64_t>();
    if (value < std::numeric_limits<T>::min() || value > std::numeric_limits<T>::max())
      throw wrong("a smaller integer");
    return static_cast<T>(value);
  }
}

// For fields added after a file format's first version: files written before then lack them and
// get `fallback`; a field that is present must still have the exact type.
template <typename T>
T json_field_or(const nlohmann::json& object, const char* key, T fallback) {
  return object.is_object() && object.contains(key) ? json_field<T>(object, key) : fallback;
}

// Runs read() and turns any error it meets (a ram::Error from json_field, or a JSON exception
// such as a missing key from at()) into one ram::Error whose message starts with context.
template <typename Read>
auto read_json(const std::string& context, Read&& read) -> decltype(read()) {
  try {
    return read();
  } catch (const Error& e) {
    throw Error(context + e.what());
  } catch (const nlohmann::json::exception& e) {
    throw Error(context + e.what());
  }
}

}  // namespace ram
