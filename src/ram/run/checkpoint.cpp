#include "ram/run/checkpoint.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstddef>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <system_error>

#include "ram/util/error.h"

namespace ram {
namespace {

constexpr std::array<std::uint8_t, 8> kMagic = {'R', 'A', 'M', 'M', 'O', 'D', 'E', 'L'};
constexpr std::size_t kHeaderSize = kMagic.size() + 4;  // magic + u32 version

[[noreturn]] void fail(const std::string& path, const std::string& problem) {
  throw Error(path + ": " + problem);
}

// Read errno at once: later calls (close, unlink) may overwrite it.
std::string errno_message() {
  return std::generic_category().message(errno);
}

std::uint32_t checksum(const std::uint8_t* data, std::size_t size) {
  // crc32_z takes a size_t length, so files over 4 GiB need no chunking.
  return static_cast<std::uint32_t>(crc32_z(crc32_z(0L, Z_NULL, 0), data, size));
}

// ---- Validation shared by save and load, so that every file we write can be read back. ----

void check_json(const std::string& path, const std::string& context, const char* field,
                const std::string& text, bool empty_means_none) {
  if (text.empty()) {
    if (empty_means_none) return;
    fail(path, context + field + " is empty");
  }
  try {
    [[maybe_unused]] const nlohmann::json parsed = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail(path, context + field + " is not valid JSON: " + e.what());
  }
}

void check_finite(const std::string& path, const std::string& context, const char* what,
                  const std::vector<float>& values) {
  for (std::size_t k = 0; k < values.size(); ++k) {
    if (!std::isfinite(values[k])) {
      fail(path, context + what + " " + std::to_string(k) + " is not finite");
    }
  }
}

// `context` prefixes each problem, so a refused save reads differently from a bad file.
void validate(const std::string& path, const std::string& context, const Checkpoint& c) {
  check_json(path, context, "config_json", c.config_json, /*empty_means_none=*/false);
  check_json(path, context, "optimizer_json", c.optimizer_json, /*empty_means_none=*/true);
  check_json(path, context, "progress_json", c.progress_json, /*empty_means_none=*/true);
  check_finite(path, context, "parameter", c.parameters);
  check_finite(path, context, "optimizer state value", c.optimizer_state);
}

// ---- Encoding. Byte by byte, so the file is little-endian whatever the host is. ----

void put_u32(std::vector<std::uint8_t>& out, std::uint32_t value) {
  for (std::size_t i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
}

void put_u64(std::vector<std::uint8_t>& out, std::uint64_t value) {
  for (std::size_t i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
}

void put_text(std::vector<std::uint8_t>& out, const std::string& text) {
  put_u64(out, text.size());
  out.insert(out.end(), text.begin(), text.end());
}

void put_floats(std::vector<std::uint8_t>& out, const std::vector<float>& values) {
  put_u64(out, values.size());
  for (float v : values) put_u32(out, std::bit_cast<std::uint32_t>(v));
}

std::vector<std::uint8_t> encode(const Checkpoint& c) {
  std::vector<std::uint8_t> out;
  out.reserve(kHeaderSize + 7 * 8 + 4 + c.config_json.size() + c.optimizer_json.size() +
              c.progress_json.size() + 4 * (c.parameters.size() + c.optimizer_state.size()));
  for (std::uint8_t byte : kMagic) out.push_back(byte);
  put_u32(out, kCheckpointVersion);
  put_text(out, c.config_json);
  put_floats(out, c.parameters);
  put_text(out, c.optimizer_json);
  put_floats(out, c.optimizer_state);
  put_text(out, c.progress_json);
  put_u64(out, c.epoch);
  put_u64(out, c.step);
  put_u32(out, checksum(out.data(), out.size()));
  return out;
}

// ---- Decoding. Every length is checked against the bytes actually left before anything is
// allocated, so a corrupt length is an error rather than a request for terabytes. ----

class Reader {
 public:
  Reader(const std::string& path, const std::vector<std::uint8_t>& bytes)
      : path_(path), bytes_(bytes) {}

  std::size_t position() const { return pos_; }
  std::size_t remaining() const { return bytes_.size() - pos_; }

  std::uint32_t u32(const char* what) {
    need(4, what);
    return take_u32();
  }

  std::uint64_t u64(const char* what) {
    need(8, what);
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < 8; ++i) value |= std::uint64_t{bytes_[pos_ + i]} << (8 * i);
    pos_ += 8;
    return value;
  }

  std::string text(const char* what) {
    const std::uint64_t length = u64(what);
    if (length > remaining()) too_long(what, length, "bytes");
    std::string text(reinterpret_cast<const char*>(bytes_.data() + pos_),
                     static_cast<std::size_t>(length));
    pos_ += static_cast<std::size_t>(length);
    return text;
  }

  std::vector<float> floats(const char* what) {
    const std::uint64_t count = u64(what);
    // Compare against remaining / 4 rather than count * 4, which could overflow.
    if (count > remaining() / 4) too_long(what, count, "values");
    std::vector<float> values(static_cast<std::size_t>(count));
    for (float& v : values) v = std::bit_cast<float>(take_u32());
    return values;
  }

 private:
  void need(std::size_t n, const char* what) const {
    if (n > remaining()) {
      fail(path_, std::string("file is truncated: ") + what + " needs " + std::to_string(n) +
                      " bytes but only " + std::to_string(remaining()) + " remain");
    }
  }

  [[noreturn]] void too_long(const char* what, std::uint64_t n, const char* unit) const {
    fail(path_, std::string("file is truncated or corrupt: ") + what + " claims " +
                    std::to_string(n) + " " + unit + " but only " + std::to_string(remaining()) +
                    " bytes remain");
  }

  std::uint32_t take_u32() {
    std::uint32_t value = 0;
    for (std::size_t i = 0; i < 4; ++i) value |= std::uint32_t{bytes_[pos_ + i]} << (8 * i);
    pos_ += 4;
    return value;
  }

  const std::string& path_;
  const std::vector<std::uint8_t>& bytes_;
  std::size_t pos_ = 0;
};

std::vector<std::uint8_t> read_whole_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(path, "cannot open: " + errno_message());
  std::vector<std::uint8_t> bytes;
  struct stat info {};
  if (::fstat(fd, &info) == 0 && info.st_size > 0) {
    bytes.reserve(static_cast<std::size_t>(info.st_size));
  }
  std::array<std::uint8_t, 1 << 16> chunk{};
  for (;;) {
    const ssize_t n = ::read(fd, chunk.data(), chunk.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      const std::string message = errno_message();
      ::close(fd);
      fail(path, "cannot read: " + message);
    }
    if (n == 0) break;
    bytes.insert(bytes.end(), chunk.begin(), chunk.begin() + n);
  }
  ::close(fd);
  return bytes;
}

// Removes the half-written temporary file and reports the failure against the real path.
[[noreturn]] void abandon(const std::string& path, const std::string& temp, int fd,
                          const std::string& problem) {
  if (fd >= 0) ::close(fd);
  ::unlink(temp.c_str());
  fail(path, problem);
}

void write_all(const std::string& path, const std::string& temp, int fd,
               const std::vector<std::uint8_t>& bytes) {
  const std::uint8_t* data = bytes.data();
  std::size_t left = bytes.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, data, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      abandon(path, temp, fd, "cannot write " + temp + ": " + errno_message());
    }
    data += n;
    left -= static_cast<std::size_t>(n);
  }
}

// Makes the rename itself durable. Best effort: some file systems refuse fsync on a directory,
// and by now the new checkpoint is complete at `path` either way.
void sync_directory_of(const std::string& path) {
  std::filesystem::path directory = std::filesystem::path(path).parent_path();
  if (directory.empty()) directory = ".";
  const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  (void)::fsync(fd);
  ::close(fd);
}

}  // namespace

void save_checkpoint(const std::string& path, const Checkpoint& checkpoint) {
  validate(path, "refusing to save: ", checkpoint);
  const std::vector<std::uint8_t> bytes = encode(checkpoint);

  // Same directory as `path`, so the rename cannot cross file systems; the pid keeps two
  // processes saving to the same path from writing into one temporary file.
  const std::string temp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  // Nothing of ours exists yet, so there is nothing to remove (whatever sits at `temp`, e.g. a
  // directory, is not ours to delete).
  if (fd < 0) fail(path, "cannot create " + temp + ": " + errno_message());

  write_all(path, temp, fd, bytes);  // unbuffered, so once written there is nothing to flush
  if (::fsync(fd) != 0) abandon(path, temp, fd, "cannot sync " + temp + ": " + errno_message());
  // close can report a deferred write error (e.g. on NFS), so its result matters too.
  if (::close(fd) != 0) abandon(path, temp, -1, "cannot close " + temp + ": " + errno_message());
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    abandon(path, temp, -1, "cannot rename " + temp + " over it: " + errno_message());
  }
  sync_directory_of(path);
}

std::vector<std::uint8_t> checkpoint_bytes(const Checkpoint& checkpoint) {
  validate("checkpoint", "refusing to encode: ", checkpoint);
  return encode(checkpoint);
}

Checkpoint load_checkpoint(const std::string& path) {
  return checkpoint_from_bytes(read_whole_file(path), path);
}

Checkpoint checkpoint_from_bytes(const std::vector<std::uint8_t>& bytes, const std::string& path) {
  if (bytes.size() < kHeaderSize) {
    fail(path,
         "file is too short to be a ram model file (" + std::to_string(bytes.size()) + " bytes)");
  }
  if (!std::equal(kMagic.begin(), kMagic.end(), bytes.begin())) {
    fail(path, "not a ram model file");
  }

  Reader reader(path, bytes);
  (void)reader.u64("magic");  // already checked above
  const std::uint32_t version = reader.u32("format version");
  if (version == 0) fail(path, "format version 0 is not valid");
  if (version > kCheckpointVersion) {
    fail(path, "format version " + std::to_string(version) + " is newer than this program's " +
                   std::to_string(kCheckpointVersion));
  }
  // Version 1 is the only one so far; later versions branch on `version` here.

  Checkpoint c;
  c.config_json = reader.text("config_json");
  c.parameters = reader.floats("parameters");
  c.optimizer_json = reader.text("optimizer_json");
  c.optimizer_state = reader.floats("optimizer_state");
  c.progress_json = reader.text("progress_json");
  c.epoch = reader.u64("epoch");
  c.step = reader.u64("step");

  const std::size_t checked_bytes = reader.position();
  const std::uint32_t stored = reader.u32("checksum");
  if (stored != checksum(bytes.data(), checked_bytes)) {
    fail(path, "checksum mismatch: the file is corrupt");
  }
  if (reader.remaining() != 0) {
    fail(path, std::to_string(reader.remaining()) + " unexpected bytes after the checksum");
  }

  // The checksum only proves the file is as written; these prove it is usable.
  validate(path, "", c);
  return c;
}

}  // namespace ram
