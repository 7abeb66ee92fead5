#pragma once
// MNIST IDX files (http://yann.lecun.com/exdb/mnist/): a big-endian u32 magic, big-endian u32
// dimensions, then unsigned bytes. Images: magic 0x00000803, then count, rows, cols. Labels:
// magic 0x00000801, then count. Files may be gzipped or plain; both are read the same way.
//
// The reader trusts nothing in the file: every malformed input (missing, empty, wrong magic,
// truncated, trailing bytes, absurd dimensions, corrupt gzip, labels above 9, image and label
// counts that differ) is a ram::Error naming the file and the problem.
#include <string>

#include "ram/env/image_set.h"

namespace ram {

// Where the Debian package dataset-fashion-mnist installs Fashion-MNIST ({train,t10k} gzipped).
inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

// Images as byte / 255, labels as stored (each must be 0..9).
ImageSet load_idx(const std::string& images_path, const std::string& labels_path);

// dir/stem if it exists, else dir/stem.gz if it exists, else throws.
std::string find_idx_file(const std::string& dir, const std::string& stem);

// split is "train" or "t10k": loads {split}-images-idx3-ubyte and {split}-labels-idx1-ubyte
// from dir, each plain or .gz.
ImageSet load_idx_dir(const std::string& dir, const std::string& split);

// Writes set as two IDX files, gzipped if gzip is set. Pixels are clamped to [0, 1] and rounded
// to the nearest byte, so load_idx(write_idx(set)) returns set to within 1/510 per pixel.
void write_idx(const std::string& images_path, const std::string& labels_path, const ImageSet& set,
               bool gzip);

}  // namespace ram
