// Fuzzes the command line of `ram train` (CLI11 parsing, presets, overrides, validation) through
// the same ram::cli::run the program calls. Input: arguments separated by NUL bytes. The run is
// always `ram train --dry-run ...`, so it never trains; arguments that mention "dry" are dropped
// so that no input can switch the dry run off. Any exit code is fine; a crash, an escaped
// exception or a sanitizer report is a finding.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "run.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::string> args = {"ram", "train", "--dry-run"};
  std::string current;
  auto flush = [&] {
    if (current.find("dry") == std::string::npos && args.size() < 64) args.push_back(current);
    current.clear();
  };
  for (std::size_t i = 0; i < size; ++i) {
    if (data[i] == 0)
      flush();
    else
      current.push_back(static_cast<char>(data[i]));
  }
  if (!current.empty()) flush();
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  ram::cli::run(static_cast<int>(argv.size()), argv.data());
  return 0;
}
