#include "ram/env/idx.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <vector>

#include "ram/util/error.h"

namespace ram {
namespace {

constexpr std::uint32_t kImageMagic = 0x00000803;
constexpr std::uint32_t kLabelMagic = 0x00000801;
// Sanity caps, checked before anything is allocated, so that a corrupt header cannot ask for
// terabytes. MNIST is 28x28 and 47 MB; these leave plenty of room for other IDX sets.
constexpr std::uint32_t kMaxSide = 65536;
constexpr std::uint64_t kMaxBytes = std::uint64_t{1} << 34;
// Body bytes are read in chunks and the buffer grows only with what was actually read, so a
// header that lies about the count costs no more memory than the file really holds.
constexpr std::size_t kChunk = std::size_t{1} << 20;

std::string hex32(std::uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

std::uint32_t big_endian_u32(const unsigned char* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

void put_big_endian_u32(std::vector<unsigned char>& out, std::uint32_t v) {
  out.push_back(static_cast<unsigned char>(v >> 24));
  out.push_back(static_cast<unsigned char>(v >> 16));
  out.push_back(static_cast<unsigned char>(v >> 8));
  out.push_back(static_cast<unsigned char>(v));
}

// zlib reads plain files transparently, so one reader serves .gz and uncompressed files.
class GzReader {
 public:
  explicit GzReader(const std::string& path) : path_(path) {
    std::error_code ec;
    const auto status = std::filesystem::status(path, ec);
    if (!std::filesystem::exists(status)) throw Error(path + ": no such file");
    if (std::filesystem::is_directory(status)) throw Error(path + ": is a directory, not a file");
    errno = 0;
    file_ = gzopen(path.c_str(), "rb");
    if (file_ == nullptr) {
      throw Error(path + ": cannot open (" + (errno ? std::strerror(errno) : "out of memory") +
                  ")");
    }
  }
  ~GzReader() { gzclose(file_); }
  GzReader(const GzReader&) = delete;
  GzReader& operator=(const GzReader&) = delete;

  const std::string& path() const { return path_; }

  // Reads up to n bytes and returns how many were read: fewer only at the end of the data.
  // Decompression and I/O failures throw, including a gzip stream that stops early (zlib reports
  // that as a short read plus Z_BUF_ERROR, not as a failed read).
  std::size_t read(void* buffer, std::size_t n) {
    auto* out = static_cast<unsigned char*>(buffer);
    std::size_t total = 0;
    while (total < n) {
      const auto want = static_cast<unsigned>(std::min<std::size_t>(n - total, INT_MAX));
      const int got = gzread(file_, out + total, want);
      if (got < 0) throw_stream_error();
      if (got == 0) break;
      total += static_cast<std::size_t>(got);
    }
    int code = Z_OK;
    gzerror(file_, &code);
    if (code != Z_OK) throw_stream_error();
    return total;
  }

 private:
  [[noreturn]] void throw_stream_error() {
    int code = Z_OK;
    std::string message = gzerror(file_, &code);
    if (code == Z_ERRNO) throw Error(path_ + ": read error (" + std::strerror(errno) + ")");
    if (code == Z_BUF_ERROR)
      throw Error(path_ + ": truncated gzip stream (unexpected end of file)");
    // zlib prefixes its message with the path, which ours already starts with.
    if (message.starts_with(path_ + ": ")) message.erase(0, path_.size() + 2);
    throw Error(path_ + ": corrupt gzip stream (" + message + ")");
  }

  std::string path_;
  gzFile file_ = nullptr;
};

// Checks the magic and returns the dims that follow it.
std::vector<std::uint32_t> read_header(GzReader& in, std::uint32_t magic, std::size_t dims,
                                       const char* kind) {
  std::array<unsigned char, 4> magic_bytes{};
  const std::size_t got = in.read(magic_bytes.data(), magic_bytes.size());
  if (got == 0) throw Error(in.path() + ": empty file");
  if (got < magic_bytes.size()) {
    throw Error(in.path() + ": truncated header (" + std::to_string(got) + " of 4 magic bytes)");
  }
  const std::uint32_t found = big_endian_u32(magic_bytes.data());
  if (found != magic) {
    throw Error(in.path() + ": wrong magic " + hex32(found) + " (expected " + hex32(magic) +
                ", an IDX " + kind + " file)");
  }
  std::vector<unsigned char> bytes(4 * dims);
  const std::size_t got_dims = in.read(bytes.data(), bytes.size());
  if (got_dims < bytes.size()) {
    throw Error(in.path() + ": truncated header (" + std::to_string(4 + got_dims) + " of " +
                std::to_string(4 + bytes.size()) + " bytes)");
  }
  std::vector<std::uint32_t> result(dims);
  for (std::size_t i = 0; i < dims; ++i) result[i] = big_endian_u32(bytes.data() + 4 * i);
  return result;
}

// Reads exactly `expected` bytes and then requires the file to end.
std::vector<unsigned char> read_body(GzReader& in, std::uint64_t expected, const char* what) {
  std::vector<unsigned char> body;
  std::size_t done = 0;
  while (done < expected) {
    const std::size_t want =
        static_cast<std::size_t>(std::min<std::uint64_t>(expected - done, kChunk));
    body.resize(done + want);
    const std::size_t got = in.read(body.data() + done, want);
    done += got;
    if (got < want) break;
  }
  body.resize(done);
  if (done < expected) {
    throw Error(in.path() + ": truncated data (header declares " + std::to_string(expected) +
                " bytes of " + what + ", file has " + std::to_string(done) + ")");
  }
  unsigned char extra = 0;
  if (in.read(&extra, 1) != 0) {
    throw Error(in.path() + ": trailing garbage after the declared " + std::to_string(expected) +
                " bytes of " + what);
  }
  return body;
}

void check_count(const std::string& path, std::uint32_t count, const char* what) {
  if (count == 0) throw Error(path + ": header declares zero " + what);
}

void check_side(const std::string& path, std::uint32_t side, const char* name) {
  if (side == 0) throw Error(path + ": header declares zero " + name);
  if (side > kMaxSide) {
    throw Error(path + ": absurd dimension: " + std::to_string(side) + " " + name + " (at most " +
                std::to_string(kMaxSide) + ")");
  }
}

// Writes header then body; gzopen's "T" mode writes the bytes uncompressed.
void write_file(const std::string& path, const std::vector<unsigned char>& header,
                const std::vector<unsigned char>& body, bool gzip) {
  errno = 0;
  gzFile file = gzopen(path.c_str(), gzip ? "wb" : "wbT");
  if (file == nullptr) {
    throw Error(path + ": cannot create (" + (errno ? std::strerror(errno) : "out of memory") +
                ")");
  }
  bool ok = true;
  for (const auto* part : {&header, &body}) {
    std::size_t done = 0;
    while (ok && done < part->size()) {
      const auto want = static_cast<unsigned>(std::min<std::size_t>(part->size() - done, INT_MAX));
      const int wrote = gzwrite(file, part->data() + done, want);
      ok = wrote > 0;
      done += static_cast<std::size_t>(std::max(wrote, 0));
    }
  }
  int code = Z_OK;
  const std::string message = ok ? "" : gzerror(file, &code);
  const int closed = gzclose(file);
  if (!ok || closed != Z_OK) {
    throw Error(path + ": write failed (" +
                (code == Z_ERRNO || closed == Z_ERRNO ? std::strerror(errno) : message) + ")");
  }
}

}  // namespace

ImageSet load_idx(const std::string& images_path, const std::string& labels_path) {
  ImageSet set;
  std::uint32_t image_count = 0;
  {
    GzReader in(images_path);
    const auto dims = read_header(in, kImageMagic, 3, "image");
    image_count = dims[0];
    check_count(images_path, image_count, "images");
    check_side(images_path, dims[1], "rows");
    check_side(images_path, dims[2], "cols");
    // rows * cols <= 2^32, so the division below cannot be by zero and nothing overflows.
    const std::uint64_t per_image = std::uint64_t{dims[1]} * dims[2];
    if (image_count > kMaxBytes / per_image) {
      throw Error(images_path + ": absurd dimensions: " + std::to_string(image_count) + " x " +
                  std::to_string(dims[1]) + " x " + std::to_string(dims[2]) +
                  " bytes exceeds the 2^34-byte limit");
    }
    const auto body = read_body(in, image_count * per_image, "pixels");
    set.rows = static_cast<int>(dims[1]);
    set.cols = static_cast<int>(dims[2]);
    set.pixels.resize(body.size());
    std::transform(body.begin(), body.end(), set.pixels.begin(),
                   [](unsigned char b) { return static_cast<float>(b) / 255.0f; });
  }
  {
    GzReader in(labels_path);
    const auto dims = read_header(in, kLabelMagic, 1, "label");
    check_count(labels_path, dims[0], "labels");
    if (dims[0] != image_count) {
      throw Error(images_path + ": has " + std::to_string(image_count) + " images but " +
                  labels_path + " has " + std::to_string(dims[0]) + " labels (count mismatch)");
    }
    const auto body = read_body(in, dims[0], "labels");
    for (std::size_t i = 0; i < body.size(); ++i) {
      if (body[i] > 9) {
        throw Error(labels_path + ": label " + std::to_string(body[i]) + " at index " +
                    std::to_string(i) + " is out of range 0..9");
      }
    }
    set.labels.assign(body.begin(), body.end());
  }
  return set;
}

std::string find_idx_file(const std::string& dir, const std::string& stem) {
  const std::filesystem::path base = std::filesystem::path(dir) / stem;
  std::error_code ec;
  if (std::filesystem::is_regular_file(base, ec)) return base.string();
  const std::string gz = base.string() + ".gz";
  if (std::filesystem::is_regular_file(gz, ec)) return gz;
  throw Error(dir + ": no file " + stem + " or " + stem + ".gz");
}

ImageSet load_idx_dir(const std::string& dir, const std::string& split) {
  if (split != "train" && split != "t10k") {
    throw Error("IDX split '" + split + "' is unknown (valid: train, t10k)");
  }
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) throw Error(dir + ": no such directory");
  // Looked up one after the other so that a missing images file is reported first.
  const std::string images = find_idx_file(dir, split + "-images-idx3-ubyte");
  const std::string labels = find_idx_file(dir, split + "-labels-idx1-ubyte");
  return load_idx(images, labels);
}

void write_idx(const std::string& images_path, const std::string& labels_path, const ImageSet& set,
               bool gzip) {
  if (set.rows <= 0 || set.cols <= 0 || set.rows > static_cast<int>(kMaxSide) ||
      set.cols > static_cast<int>(kMaxSide)) {
    throw Error(images_path + ": cannot write images of " + std::to_string(set.rows) + "x" +
                std::to_string(set.cols) + " pixels");
  }
  if (set.pixels.size() != set.size() * set.image_size()) {
    throw Error(images_path + ": image set has " + std::to_string(set.pixels.size()) +
                " pixels for " + std::to_string(set.size()) + " labels");
  }
  if (set.size() > UINT32_MAX) {
    throw Error(images_path + ": too many images for IDX (" + std::to_string(set.size()) + ")");
  }
  const auto count = static_cast<std::uint32_t>(set.size());

  std::vector<unsigned char> header;
  put_big_endian_u32(header, kImageMagic);
  put_big_endian_u32(header, count);
  put_big_endian_u32(header, static_cast<std::uint32_t>(set.rows));
  put_big_endian_u32(header, static_cast<std::uint32_t>(set.cols));
  std::vector<unsigned char> body(set.pixels.size());
  for (std::size_t i = 0; i < body.size(); ++i) {
    const float p = set.pixels[i];
    if (std::isnan(p)) throw Error(images_path + ": pixel " + std::to_string(i) + " is NaN");
    body[i] = static_cast<unsigned char>(std::lround(std::clamp(p, 0.0f, 1.0f) * 255.0f));
  }
  write_file(images_path, header, body, gzip);

  header.clear();
  put_big_endian_u32(header, kLabelMagic);
  put_big_endian_u32(header, count);
  write_file(labels_path, header, {set.labels.begin(), set.labels.end()}, gzip);
}

}  // namespace ram
