#include "ram/run/checkpoint.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "ram/util/error.h"
#include "support/test_support.h"

namespace fs = std::filesystem;

namespace {

using Bytes = std::vector<std::uint8_t>;

// Offsets fixed by the format (see checkpoint.h).
constexpr std::size_t kVersionOffset = 8;
constexpr std::size_t kConfigLengthOffset = 12;

Bytes read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_bytes(const fs::path& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

void set_u32(Bytes& bytes, std::size_t offset, std::uint32_t value) {
  for (std::size_t i = 0; i < 4; ++i)
    bytes[offset + i] = static_cast<std::uint8_t>(value >> (8 * i));
}

void set_u64(Bytes& bytes, std::size_t offset, std::uint64_t value) {
  for (std::size_t i = 0; i < 8; ++i)
    bytes[offset + i] = static_cast<std::uint8_t>(value >> (8 * i));
}

// After editing a file by hand, make its checksum right again so that the check under test,
// not the CRC, is the one that fires.
void fix_checksum(Bytes& bytes) {
  const std::size_t body = bytes.size() - 4;
  set_u32(bytes, body,
          static_cast<std::uint32_t>(crc32_z(crc32_z(0L, Z_NULL, 0), bytes.data(), body)));
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  // memcmp, not ==, so that -0 vs +0 and any bit of a denormal count; skip it for empty
  // vectors, whose data() may be null.
  return a.size() == b.size() &&
         (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

void expect_equal(const ram::Checkpoint& expected, const ram::Checkpoint& actual) {
  EXPECT_EQ(expected.config_json, actual.config_json);
  EXPECT_TRUE(same_bits(expected.parameters, actual.parameters));
  EXPECT_EQ(expected.optimizer_json, actual.optimizer_json);
  EXPECT_TRUE(same_bits(expected.optimizer_state, actual.optimizer_state));
  EXPECT_EQ(expected.epoch, actual.epoch);
  EXPECT_EQ(expected.step, actual.step);
  EXPECT_EQ(expected.progress_json, actual.progress_json);
}

// Small enough that looping over every byte is quick, with the awkward float values in it.
ram::Checkpoint small_checkpoint() {
  ram::Checkpoint c;
  c.config_json = R"({"glimpses":6,"core":"relu"})";
  c.parameters = {1.5f,
                  -0.0f,
                  std::numeric_limits<float>::denorm_min(),
                  -1e-40f,
                  std::numeric_limits<float>::max(),
                  std::numeric_limits<float>::lowest()};
  c.optimizer_json = R"({"kind":"adam","beta1":0.9})";
  c.optimizer_state = {0.25f, -3.0f, 0.0f};
  c.epoch = 3;
  c.step = 0x0102030405060708ULL;  // every byte distinct, so a byte-order slip shows
  c.progress_json = R"({"best":0.97})";
  return c;
}

// Random bit patterns cover every finite float, denormals and -0 included; NaN and infinity
// (exponent all ones) are redrawn because loading rightly refuses them.
std::vector<float> random_finite_floats(std::size_t count, std::mt19937& rng) {
  std::vector<float> values;
  values.reserve(count);
  while (values.size() < count) {
    const float v = std::bit_cast<float>(static_cast<std::uint32_t>(rng()));
    if (std::isfinite(v)) values.push_back(v);
  }
  return values;
}

class CheckpointTest : public ::testing::Test {
 protected:
  // Everything in the test directory except `keep`, to spot leftover temporary files.
  std::vector<std::string> stray_files(const fs::path& keep = {}) const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir_)) {
      if (entry.path() != keep) names.push_back(entry.path().filename().string());
    }
    return names;
  }

  // Loading must fail with a ram::Error that names the file; returns its message.
  static std::string load_error(const fs::path& path) {
    try {
      (void)ram::load_checkpoint(path.string());
    } catch (const ram::Error& e) {
      return e.what();
    }
    ADD_FAILURE() << "loading " << path << " did not throw";
    return {};
  }

  ram::test::TempDir tmp_;  // a fresh directory per test, removed afterwards
  const fs::path dir_ = tmp_.path();
};

TEST_F(CheckpointTest, RoundTripIsBitExact) {
  std::mt19937 rng(12345);
  ram::Checkpoint c = small_checkpoint();
  const std::vector<float> extra = random_finite_floats(50000, rng);
  c.parameters.insert(c.parameters.end(), extra.begin(), extra.end());
  c.optimizer_state = random_finite_floats(100000, rng);
  c.epoch = std::numeric_limits<std::uint64_t>::max();
  const fs::path path = dir_ / "model.ram";

  ram::save_checkpoint(path.string(), c);
  expect_equal(c, ram::load_checkpoint(path.string()));
  EXPECT_TRUE(stray_files(path).empty());
}

TEST_F(CheckpointTest, EmptyOptionalFieldsRoundTrip) {
  ram::Checkpoint c;
  c.config_json = "{}";
  const fs::path path = dir_ / "empty.ram";

  ram::save_checkpoint(path.string(), c);
  expect_equal(c, ram::load_checkpoint(path.string()));
}

TEST_F(CheckpointTest, JsonTextIsStoredAsGiven) {
  ram::Checkpoint c = small_checkpoint();
  c.config_json = "{ \"b\" : 1,\n  \"a\" : [1, 2.50] }\n";  // key order, spacing, trailing newline
  const fs::path path = dir_ / "model.ram";

  ram::save_checkpoint(path.string(), c);
  EXPECT_EQ(c.config_json, ram::load_checkpoint(path.string()).config_json);
}

TEST_F(CheckpointTest, SaveOverExistingFile) {
  const fs::path path = dir_ / "model.ram";
  ram::Checkpoint first = small_checkpoint();
  ram::save_checkpoint(path.string(), first);

  ram::Checkpoint second = small_checkpoint();
  second.parameters.assign(1000, 0.5f);
  second.epoch = 4;
  ram::save_checkpoint(path.string(), second);

  expect_equal(second, ram::load_checkpoint(path.string()));
  EXPECT_TRUE(stray_files(path).empty());
}

TEST_F(CheckpointTest, MissingFileIsRejected) {
  const fs::path path = dir_ / "absent.ram";
  EXPECT_NE(load_error(path).find(path.string()), std::string::npos);
}

TEST_F(CheckpointTest, DirectoryIsRejected) {
  EXPECT_NE(load_error(dir_).find(dir_.string()), std::string::npos);
}

TEST_F(CheckpointTest, WrongMagicIsRejected) {
  const fs::path path = dir_ / "notes.txt";
  write_bytes(path, Bytes{'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd', '!', '!'});
  EXPECT_EQ(load_error(path), path.string() + ": not a ram model file");
}

TEST_F(CheckpointTest, TruncationAtEveryOffsetIsRejected) {
  const fs::path good = dir_ / "model.ram";
  ram::save_checkpoint(good.string(), small_checkpoint());
  const Bytes bytes = read_bytes(good);
  ASSERT_GT(bytes.size(), 100u);

  const fs::path path = dir_ / "truncated.ram";
  for (std::size_t size = 0; size < bytes.size(); ++size) {
    write_bytes(path, Bytes(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(size)));
    EXPECT_NE(load_error(path).find(path.string()), std::string::npos) << "size " << size;
  }
}

TEST_F(CheckpointTest, ByteFlipAtEveryOffsetIsRejected) {
  const fs::path good = dir_ / "model.ram";
  ram::save_checkpoint(good.string(), small_checkpoint());
  const Bytes bytes = read_bytes(good);

  const fs::path path = dir_ / "flipped.ram";
  for (std::size_t offset = 0; offset < bytes.size(); ++offset) {
    for (std::uint8_t mask : {std::uint8_t{0x01}, std::uint8_t{0x80}}) {
      Bytes flipped = bytes;
      flipped[offset] ^= mask;
      write_bytes(path, flipped);
      EXPECT_NE(load_error(path).find(path.string()), std::string::npos)
          << "offset " << offset << " mask " << int{mask};
    }
  }
}

TEST_F(CheckpointTest, ChecksumMismatchIsReported) {
  const fs::path path = dir_ / "model.ram";
  ram::save_checkpoint(path.string(), small_checkpoint());
  Bytes bytes = read_bytes(path);
  bytes[kConfigLengthOffset + 8 + 2] ^= 0x20;  // a letter inside config_json changes case
  write_bytes(path, bytes);
  EXPECT_EQ(load_error(path), path.string() + ": checksum mismatch: the file is corrupt");
}

TEST_F(CheckpointTest, FutureVersionIsRejected) {
  const fs::path path = dir_ / "model.ram";
  ram::save_checkpoint(path.string(), small_checkpoint());
  Bytes bytes = read_bytes(path);
  set_u32(bytes, kVersionOffset, ram::kCheckpointVersion + 1);
  fix_checksum(bytes);
  write_bytes(path, bytes);
  EXPECT_EQ(load_error(path), path.string() + ": format version 2 is newer than this program's 1");
}

TEST_F(CheckpointTest, VersionZeroIsRejected) {
  const fs::path path = dir_ / "model.ram";
  ram::save_checkpoint(path.string(), small_checkpoint());
  Bytes bytes = read_bytes(path);
  set_u32(bytes, kVersionOffset, 0);
  fix_checksum(bytes);
  write_bytes(path, bytes);
  EXPECT_NE(load_error(path).find("format version 0"), std::string::npos);
}

// A ram::Error (not std::bad_alloc or std::length_error) shows the length was checked before
// anything was allocated.
TEST_F(CheckpointTest, HugeTextLengthIsRejectedWithoutAllocating) {
  const fs::path path = dir_ / "model.ram";
  ram::save_checkpoint(path.string(), small_checkpoint());
  Bytes bytes = read_bytes(path);
  set_u64(bytes, kConfigLengthOffset, std::uint64_t{1} << 60);
  fix_checksum(bytes);
  write_bytes(path, bytes);
  const std::string message = load_error(path);
  EXPECT_NE(message.find(path.string()), std::string::npos);
  EXPECT_NE(message.find("config_json"), std::string::npos) << message;
}

TEST_F(CheckpointTest, HugeFloatCountIsRejectedWithoutAllocating) {
  const ram::Checkpoint c = small_checkpoint();
  const fs::path path = dir_ / "model.ram";
  ram::save_checkpoint(path.string(), c);
  const std::size_t count_offset = kConfigLengthOffset + 8 + c.config_json.size();

  // 2^62 values times 4 bytes wraps to 0 in 64 bits: the check must not multiply.
  for (std::uint64_t count : {std::uint64_t{1} << 62, std::numeric_limits<std::uint64_t>::max()}) {
    Bytes bytes = read_bytes(path);
    set_u64(bytes, count_offset, count);
    fix_checksum(bytes);
    const fs::path corrupt = dir_ / "corrupt.ram";
    write_bytes(corrupt, bytes);
    const std::string message = load_error(corrupt);
    EXPECT_NE(message.find(corrupt.string()), std::string::npos);
    EXPECT_NE(message.find("parameters"), std::string::npos) << message;
  }
}

TEST_F(CheckpointTest, TrailingBytesAreRejected) {
  const fs::path path = dir_ / "model.ram";
  ram::save_checkpoint(path.string(), small_checkpoint());
  Bytes bytes = read_bytes(path);
  bytes.push_back(0);
  write_bytes(path, bytes);
  EXPECT_EQ(load_error(path), path.string() + ": 1 unexpected bytes after the checksum");
}

TEST_F(CheckpointTest, NonFiniteParameterIsRejected) {
  const ram::Checkpoint c = small_checkpoint();
  const fs::path path = dir_ / "model.ram";
  ram::save_checkpoint(path.string(), c);
  const std::size_t first_value = kConfigLengthOffset + 8 + c.config_json.size() + 8;

  for (float bad :
       {std::numeric_limits<float>::quiet_NaN(), -std::numeric_limits<float>::infinity()}) {
    Bytes bytes = read_bytes(path);
    set_u32(bytes, first_value + 4 * 2, std::bit_cast<std::uint32_t>(bad));
    fix_checksum(bytes);
    const fs::path corrupt = dir_ / "corrupt.ram";
    write_bytes(corrupt, bytes);
    EXPECT_EQ(load_error(corrupt), corrupt.string() + ": parameter 2 is not finite");
  }
}

TEST_F(CheckpointTest, InvalidJsonIsRejected) {
  const fs::path path = dir_ / "model.ram";
  ram::save_checkpoint(path.string(), small_checkpoint());
  Bytes bytes = read_bytes(path);
  bytes[kConfigLengthOffset + 8] = '[';  // '{' -> '[' leaves an unbalanced document
  fix_checksum(bytes);
  write_bytes(path, bytes);
  const std::string message = load_error(path);
  EXPECT_EQ(message.rfind(path.string() + ": config_json is not valid JSON", 0), 0u) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
}

TEST_F(CheckpointTest, SaveRefusesWhatLoadWouldReject) {
  const fs::path path = dir_ / "model.ram";

  ram::Checkpoint nan_parameter = small_checkpoint();
  nan_parameter.parameters[1] = std::numeric_limits<float>::quiet_NaN();
  ram::Checkpoint bad_config = small_checkpoint();
  bad_config.config_json = "{\"glimpses\":";
  ram::Checkpoint empty_config = small_checkpoint();
  empty_config.config_json.clear();
  ram::Checkpoint bad_progress = small_checkpoint();
  bad_progress.progress_json = "not json";

  for (const ram::Checkpoint& c : {nan_parameter, bad_config, empty_config, bad_progress}) {
    EXPECT_THROW(ram::save_checkpoint(path.string(), c), ram::Error);
  }
  EXPECT_TRUE(stray_files().empty());
}

TEST_F(CheckpointTest, FailedSaveIntoMissingDirectoryLeavesNothing) {
  const fs::path path = dir_ / "no-such-dir" / "model.ram";
  try {
    ram::save_checkpoint(path.string(), small_checkpoint());
    FAIL() << "save did not throw";
  } catch (const ram::Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind(path.string() + ": ", 0), 0u) << e.what();
  }
  EXPECT_FALSE(fs::exists(dir_ / "no-such-dir"));
  EXPECT_TRUE(stray_files().empty());
}

TEST_F(CheckpointTest, FailedSaveOverDirectoryLeavesNoTempFile) {
  const fs::path path = dir_ / "model.ram";
  fs::create_directory(path);
  try {
    ram::save_checkpoint(path.string(), small_checkpoint());
    FAIL() << "save did not throw";
  } catch (const ram::Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind(path.string() + ": ", 0), 0u) << e.what();
  }
  EXPECT_TRUE(fs::is_directory(path));
  EXPECT_TRUE(stray_files(path).empty());
}

TEST_F(CheckpointTest, FailedSaveKeepsEarlierCheckpoint) {
  const fs::path path = dir_ / "model.ram";
  const ram::Checkpoint good = small_checkpoint();
  ram::save_checkpoint(path.string(), good);
  const Bytes good_bytes = read_bytes(path);

  ram::Checkpoint newer = small_checkpoint();
  newer.epoch = 99;

  // A directory squatting on the temporary name makes the write itself fail (this works even
  // as root, where permission tricks do not). The save must not delete what is not its own.
  const fs::path blocker = path.string() + ".tmp." + std::to_string(::getpid());
  fs::create_directory(blocker);
  EXPECT_THROW(ram::save_checkpoint(path.string(), newer), ram::Error);
  EXPECT_TRUE(fs::is_directory(blocker));
  EXPECT_EQ(read_bytes(path), good_bytes);
  fs::remove(blocker);

  // A save refused for bad input also leaves the old file alone.
  newer.parameters[0] = std::numeric_limits<float>::infinity();
  EXPECT_THROW(ram::save_checkpoint(path.string(), newer), ram::Error);
  EXPECT_EQ(read_bytes(path), good_bytes);

  expect_equal(good, ram::load_checkpoint(path.string()));
  EXPECT_TRUE(stray_files(path).empty());
}

}  // namespace
