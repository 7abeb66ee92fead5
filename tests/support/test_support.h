#pragma once
// Helpers shared by the test executables: a per-test scratch directory and checks on the
// ram::Error a call throws. Header-only; include it with a path relative to the test file.
#include <gtest/gtest.h>
#include <unistd.h>

#include <exception>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <string>
#include <system_error>

#include "ram/util/error.h"

namespace ram::test {

// Keeps letters, digits, '-' and '.', so that names such as "Suite/Test/0" of parameterised tests
// give one flat directory name.
inline std::string file_name_safe(const std::string& s) {
  std::string out = s;
  for (char& c : out) {
    const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.';
    if (!keep) c = '_';
  }
  return out;
}

// A fresh directory per test, removed afterwards. Its name holds the process id and the running
// test's suite and name (or, outside a test, e.g. in SetUpTestSuite, the suite's name), so
// parallel ctest runs and different tests never share one. `tag` tells apart several TempDirs
// alive at once in the same test or suite.
class TempDir {
 public:
  explicit TempDir(const std::string& tag = "") {
    const auto* unit = ::testing::UnitTest::GetInstance();
    std::string name = "suite";
    if (const auto* info = unit->current_test_info()) {
      name = std::string(info->test_suite_name()) + "." + info->name();
    } else if (const auto* suite = unit->current_test_suite()) {
      name = std::string(suite->name()) + ".suite";
    }
    path_ = std::filesystem::temp_directory_path() /
            file_name_safe("ram-test-" + std::to_string(::getpid()) + "-" + name + tag);
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }
  // The path of `name` inside the directory (not created).
  std::string sub(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// The whole content of a file, or "" if it cannot be read.
inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Runs f and returns the message of the ram::Error it throws, failing the test if it throws
// nothing or some other exception.
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const ram::Error& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "threw a non-ram exception: " << e.what();
    return {};
  }
  ADD_FAILURE() << "expected a ram::Error, but nothing was thrown";
  return {};
}

// Runs f, which must throw a ram::Error whose message contains each of `parts` and is one line.
template <typename F>
void expect_error(F&& f, std::initializer_list<std::string> parts) {
  const std::string message = error_of(f);
  for (const auto& part : parts) {
    EXPECT_NE(message.find(part), std::string::npos)
        << "message \"" << message << "\" lacks \"" << part << "\"";
  }
  EXPECT_EQ(message.find('\n'), std::string::npos) << "message is not one line: " << message;
}

}  // namespace ram::test
