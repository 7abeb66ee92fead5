#include "ram/env/idx.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "ram/util/error.h"
#include "support/test_support.h"

namespace ram {
namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<unsigned char>;
using test::expect_error;
using test::TempDir;

void put_u32(Bytes& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<unsigned char>(v >> shift));
}

Bytes image_file(std::uint32_t count, std::uint32_t rows, std::uint32_t cols, const Bytes& body) {
  Bytes out;
  put_u32(out, 0x00000803);
  put_u32(out, count);
  put_u32(out, rows);
  put_u32(out, cols);
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

Bytes label_file(std::uint32_t count, const Bytes& body) {
  Bytes out;
  put_u32(out, 0x00000801);
  put_u32(out, count);
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

Bytes pattern(std::size_t n, int salt = 0) {
  Bytes out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<unsigned char>((i * 37 + salt) % 256);
  return out;
}

Bytes labels_pattern(std::size_t n) {
  Bytes out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<unsigned char>(i % 10);
  return out;
}

void write_bytes(const std::string& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

void write_gzip(const std::string& path, const Bytes& bytes) {
  gzFile file = gzopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr) << path;
  if (!bytes.empty()) {
    ASSERT_EQ(gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size())),
              static_cast<int>(bytes.size()));
  }
  ASSERT_EQ(gzclose(file), Z_OK);
}

Bytes read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Pixels that are exact byte / 255 values, so a round trip must reproduce them bit for bit.
ImageSet make_set(std::size_t count, int rows, int cols) {
  ImageSet set;
  set.rows = rows;
  set.cols = cols;
  const Bytes bytes = pattern(count * static_cast<std::size_t>(rows) * cols, 5);
  for (unsigned char b : bytes) set.pixels.push_back(static_cast<float>(b) / 255.0f);
  set.labels = labels_pattern(count);
  return set;
}

void expect_same(const ImageSet& a, const ImageSet& b) {
  EXPECT_EQ(a.rows, b.rows);
  EXPECT_EQ(a.cols, b.cols);
  EXPECT_EQ(a.labels, b.labels);
  EXPECT_EQ(a.pixels, b.pixels);
}

TEST(Idx, RoundTripPlain) {
  TempDir dir;
  const ImageSet set = make_set(13, 5, 7);
  write_idx(dir.sub("img"), dir.sub("lab"), set, false);
  const Bytes raw = read_bytes(dir.sub("img"));
  ASSERT_EQ(raw.size(), 16u + 13 * 5 * 7);
  EXPECT_EQ(raw[2], 0x08);
  EXPECT_EQ(raw[3], 0x03);
  EXPECT_EQ(read_bytes(dir.sub("lab")).size(), 8u + 13);
  expect_same(load_idx(dir.sub("img"), dir.sub("lab")), set);
}

TEST(Idx, RoundTripGzipped) {
  TempDir dir;
  const ImageSet set = make_set(40, 28, 28);
  write_idx(dir.sub("img.gz"), dir.sub("lab.gz"), set, true);
  const Bytes raw = read_bytes(dir.sub("img.gz"));
  ASSERT_GE(raw.size(), 2u);
  EXPECT_EQ(raw[0], 0x1f);
  EXPECT_EQ(raw[1], 0x8b);
  expect_same(load_idx(dir.sub("img.gz"), dir.sub("lab.gz")), set);
}

TEST(Idx, WriteRoundsAndClampsPixels) {
  TempDir dir;
  ImageSet set;
  set.rows = 1;
  set.cols = 4;
  set.pixels = {0.5f, 1.5f, -0.25f, 0.999f};
  set.labels = {3};
  write_idx(dir.sub("img"), dir.sub("lab"), set, false);
  const ImageSet back = load_idx(dir.sub("img"), dir.sub("lab"));
  EXPECT_EQ(back.pixels, (std::vector<float>{128 / 255.0f, 1.0f, 0.0f, 1.0f}));
}

TEST(Idx, WriteRejectsInconsistentSetAndUnwritablePath) {
  TempDir dir;
  ImageSet bad = make_set(3, 4, 4);
  bad.pixels.pop_back();
  expect_error([&] { write_idx(dir.sub("img"), dir.sub("lab"), bad, false); },
               {dir.sub("img"), "pixels"});
  const std::string nowhere = dir.sub("no/such/dir/img");
  expect_error([&] { write_idx(nowhere, dir.sub("lab"), make_set(2, 3, 3), true); },
               {nowhere, "cannot create"});
}

TEST(Idx, MissingFilesAndDirectories) {
  TempDir dir;
  write_idx(dir.sub("img"), dir.sub("lab"), make_set(2, 3, 3), false);
  expect_error([&] { load_idx(dir.sub("missing"), dir.sub("lab")); },
               {dir.sub("missing"), "no such file"});
  expect_error([&] { load_idx(dir.sub("img"), dir.sub("missing")); },
               {dir.sub("missing"), "no such file"});
  expect_error([&] { load_idx(dir.str(), dir.sub("lab")); }, {dir.str(), "directory"});
}

TEST(Idx, UnreadableFile) {
  if (::geteuid() == 0) GTEST_SKIP() << "root can read any file";
  TempDir dir;
  write_idx(dir.sub("img"), dir.sub("lab"), make_set(2, 3, 3), false);
  fs::permissions(dir.sub("img"), fs::perms::none);
  expect_error([&] { load_idx(dir.sub("img"), dir.sub("lab")); }, {dir.sub("img"), "cannot open"});
}

TEST(Idx, EmptyFiles) {
  TempDir dir;
  write_idx(dir.sub("img"), dir.sub("lab"), make_set(2, 3, 3), false);
  write_bytes(dir.sub("empty"), {});
  write_gzip(dir.sub("empty.gz"), {});
  expect_error([&] { load_idx(dir.sub("empty"), dir.sub("lab")); }, {dir.sub("empty"), "empty"});
  expect_error([&] { load_idx(dir.sub("empty.gz"), dir.sub("lab")); },
               {dir.sub("empty.gz"), "empty"});
  expect_error([&] { load_idx(dir.sub("img"), dir.sub("empty")); }, {dir.sub("empty"), "empty"});
}

TEST(Idx, WrongMagic) {
  TempDir dir;
  write_idx(dir.sub("img"), dir.sub("lab"), make_set(2, 3, 3), false);
  // Swapped arguments: each file has the other's magic.
  expect_error([&] { load_idx(dir.sub("lab"), dir.sub("img")); },
               {dir.sub("lab"), "magic", "0x00000801"});
  expect_error([&] { load_idx(dir.sub("img"), dir.sub("img")); },
               {dir.sub("img"), "magic", "0x00000803"});
  write_bytes(dir.sub("text"), {'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd', '!', '!',
                                '!', '!', '!', '!'});
  expect_error([&] { load_idx(dir.sub("text"), dir.sub("lab")); }, {dir.sub("text"), "magic"});
}

// Cuts a valid file at many points: each cut is an error naming the file and the problem, for
// plain files and for complete gzip streams of the cut bytes.
TEST(Idx, TruncatedAtSeveralPoints) {
  TempDir dir;
  const Bytes images = image_file(6, 4, 5, pattern(6 * 4 * 5));
  const Bytes labels = label_file(6, labels_pattern(6));
  write_bytes(dir.sub("img"), images);
  write_bytes(dir.sub("lab"), labels);
  ASSERT_NO_THROW(load_idx(dir.sub("img"), dir.sub("lab")));

  for (bool gzip : {false, true}) {
    const std::string suffix = gzip ? ".gz" : "";
    for (std::size_t cut : {1u, 3u, 4u, 7u, 8u, 13u, 15u, 16u, 17u, 60u, 135u}) {
      SCOPED_TRACE("images cut at " + std::to_string(cut) + suffix);
      const std::string path = dir.sub("img-cut" + suffix);
      const Bytes part(images.begin(), images.begin() + static_cast<std::ptrdiff_t>(cut));
      gzip ? write_gzip(path, part) : write_bytes(path, part);
      const char* problem = cut < 16 ? "truncated header" : "truncated data";
      expect_error([&] { load_idx(path, dir.sub("lab")); }, {path, problem});
    }
    for (std::size_t cut : {2u, 4u, 6u, 8u, 9u, 13u}) {
      SCOPED_TRACE("labels cut at " + std::to_string(cut) + suffix);
      const std::string path = dir.sub("lab-cut" + suffix);
      const Bytes part(labels.begin(), labels.begin() + static_cast<std::ptrdiff_t>(cut));
      gzip ? write_gzip(path, part) : write_bytes(path, part);
      const char* problem = cut < 8 ? "truncated header" : "truncated data";
      expect_error([&] { load_idx(dir.sub("img"), path); }, {path, problem});
    }
  }
}

TEST(Idx, TrailingGarbage) {
  TempDir dir;
  Bytes images = image_file(2, 3, 3, pattern(18));
  Bytes labels = label_file(2, labels_pattern(2));
  write_bytes(dir.sub("lab"), labels);
  images.push_back(0);
  write_bytes(dir.sub("img"), images);
  expect_error([&] { load_idx(dir.sub("img"), dir.sub("lab")); }, {dir.sub("img"), "trailing"});
  write_gzip(dir.sub("img.gz"), images);
  expect_error([&] { load_idx(dir.sub("img.gz"), dir.sub("lab")); },
               {dir.sub("img.gz"), "trailing"});
  images.pop_back();
  write_bytes(dir.sub("img"), images);
  labels.push_back(1);
  write_bytes(dir.sub("lab"), labels);
  expect_error([&] { load_idx(dir.sub("img"), dir.sub("lab")); }, {dir.sub("lab"), "trailing"});
}

TEST(Idx, ZeroDimensions) {
  TempDir dir;
  write_bytes(dir.sub("lab"), label_file(2, labels_pattern(2)));
  const struct {
    std::uint32_t count, rows, cols;
    const char* name;
  } cases[] = {{0, 3, 3, "images"}, {2, 0, 3, "rows"}, {2, 3, 0, "cols"}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    write_bytes(dir.sub("img"), image_file(c.count, c.rows, c.cols, {}));
    expect_error([&] { load_idx(dir.sub("img"), dir.sub("lab")); },
                 {dir.sub("img"), "zero", c.name});
  }
  write_bytes(dir.sub("img"), image_file(2, 3, 3, pattern(18)));
  write_bytes(dir.sub("lab0"), label_file(0, {}));
  expect_error([&] { load_idx(dir.sub("img"), dir.sub("lab0")); }, {dir.sub("lab0"), "zero"});
}

// Headers whose sizes would need absurd allocations are rejected before any allocation.
TEST(Idx, AbsurdDimensions) {
  TempDir dir;
  write_bytes(dir.sub("lab"), label_file(2, labels_pattern(2)));
  const struct {
    std::uint32_t count, rows, cols;
  } cases[] = {{2, 70000, 3},
               {2, 3, 65537},
               {0xffffffffu, 28, 28},
               {5, 65536, 65536},
               {0xffffffffu, 65536, 65536}};
  for (const auto& c : cases) {
    SCOPED_TRACE(std::to_string(c.count) + "x" + std::to_string(c.rows) + "x" +
                 std::to_string(c.cols));
    write_bytes(dir.sub("img"), image_file(c.count, c.rows, c.cols, pattern(100)));
    expect_error([&] { load_idx(dir.sub("img"), dir.sub("lab")); }, {dir.sub("img"), "absurd"});
  }
}

// A header claiming 10^6 images (784 MB, under the cap) over a tiny body is reported as
// truncated; the reader only allocates what it actually reads.
TEST(Idx, LyingCountIsTruncation) {
  TempDir dir;
  write_bytes(dir.sub("img"), image_file(1000000, 28, 28, pattern(784 * 3)));
  write_bytes(dir.sub("lab"), label_file(3, labels_pattern(3)));
  expect_error([&] { load_idx(dir.sub("img"), dir.sub("lab")); },
               {dir.sub("img"), "truncated data", "784000000"});
}

TEST(Idx, CountMismatchNamesBothFiles) {
  TempDir dir;
  write_bytes(dir.sub("img"), image_file(3, 2, 2, pattern(12)));
  write_bytes(dir.sub("lab"), label_file(4, labels_pattern(4)));
  expect_error([&] { load_idx(dir.sub("img"), dir.sub("lab")); },
               {dir.sub("img"), dir.sub("lab"), "mismatch", "3 images", "4 labels"});
}

TEST(Idx, LabelAboveNine) {
  TempDir dir;
  write_bytes(dir.sub("img"), image_file(5, 2, 2, pattern(20)));
  write_bytes(dir.sub("lab"), label_file(5, {1, 2, 9, 10, 3}));
  expect_error([&] { load_idx(dir.sub("img"), dir.sub("lab")); },
               {dir.sub("lab"), "label 10", "index 3"});
}

TEST(Idx, CorruptGzip) {
  TempDir dir;
  const ImageSet set = make_set(50, 28, 28);
  write_idx(dir.sub("img.gz"), dir.sub("lab.gz"), set, true);
  const Bytes good = read_bytes(dir.sub("img.gz"));
  ASSERT_GT(good.size(), 100u);

  // A wrong CRC in the gzip trailer: the data decode, the check fails.
  Bytes bad_crc = good;
  bad_crc[bad_crc.size() - 8] ^= 0xff;
  write_bytes(dir.sub("crc.gz"), bad_crc);
  expect_error([&] { load_idx(dir.sub("crc.gz"), dir.sub("lab.gz")); },
               {dir.sub("crc.gz"), "corrupt gzip"});

  // The compressed stream cut short.
  const Bytes cut(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(good.size() / 2));
  write_bytes(dir.sub("cut.gz"), cut);
  expect_error([&] { load_idx(dir.sub("cut.gz"), dir.sub("lab.gz")); },
               {dir.sub("cut.gz"), "truncated gzip"});

  // Garbage in the middle of the deflate data: some error, never a crash or a silent load.
  for (std::size_t at : {std::size_t{12}, good.size() / 3, good.size() / 2}) {
    SCOPED_TRACE("corrupted at " + std::to_string(at));
    Bytes bad = good;
    for (std::size_t i = at; i < at + 16; ++i) bad[i] = static_cast<unsigned char>(bad[i] ^ 0x5a);
    write_bytes(dir.sub("bad.gz"), bad);
    expect_error([&] { load_idx(dir.sub("bad.gz"), dir.sub("lab.gz")); }, {dir.sub("bad.gz")});
  }
}

TEST(Idx, FindIdxFile) {
  TempDir dir;
  write_bytes(dir.sub("a"), {1});
  write_bytes(dir.sub("b.gz"), {1});
  write_bytes(dir.sub("c"), {1});
  write_bytes(dir.sub("c.gz"), {1});
  EXPECT_EQ(find_idx_file(dir.str(), "a"), dir.sub("a"));
  EXPECT_EQ(find_idx_file(dir.str(), "b"), dir.sub("b.gz"));
  EXPECT_EQ(find_idx_file(dir.str(), "c"), dir.sub("c"));
  expect_error([&] { find_idx_file(dir.str(), "zzz"); }, {dir.str(), "zzz", "zzz.gz"});
}

TEST(Idx, LoadIdxDir) {
  TempDir dir;
  const ImageSet train = make_set(20, 6, 6);
  const ImageSet test = make_set(7, 6, 6);
  write_idx(dir.sub("train-images-idx3-ubyte.gz"), dir.sub("train-labels-idx1-ubyte.gz"), train,
            true);
  write_idx(dir.sub("t10k-images-idx3-ubyte"), dir.sub("t10k-labels-idx1-ubyte"), test, false);
  expect_same(load_idx_dir(dir.str(), "train"), train);
  expect_same(load_idx_dir(dir.str(), "t10k"), test);
  expect_error([&] { load_idx_dir(dir.str(), "test"); }, {"test", "train", "t10k"});
  fs::remove(dir.sub("t10k-labels-idx1-ubyte"));
  expect_error([&] { load_idx_dir(dir.str(), "t10k"); }, {dir.str(), "t10k-labels-idx1-ubyte"});
  fs::remove(dir.sub("t10k-images-idx3-ubyte"));
  expect_error([&] { load_idx_dir(dir.str(), "t10k"); }, {dir.str(), "t10k-images-idx3-ubyte"});
  const std::string nowhere = dir.sub("nowhere");
  expect_error([&] { load_idx_dir(nowhere, "train"); }, {nowhere, "no such directory"});
}

TEST(Idx, FashionMnistTestSet) {
  if (!fs::exists(kFashionMnistDir)) GTEST_SKIP() << kFashionMnistDir << " is not installed";
  const ImageSet set = load_idx_dir(kFashionMnistDir, "t10k");
  EXPECT_EQ(set.size(), 10000u);
  EXPECT_EQ(set.rows, 28);
  EXPECT_EQ(set.cols, 28);
  EXPECT_EQ(set.pixels.size(), 10000u * 28 * 28);
  std::vector<int> per_class(10, 0);
  for (auto label : set.labels) ++per_class[label];
  for (int c = 0; c < 10; ++c) EXPECT_EQ(per_class[c], 1000) << "class " << c;
}

}  // namespace
}  // namespace ram
