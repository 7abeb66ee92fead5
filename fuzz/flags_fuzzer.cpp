// Fuzzes the whole command line (CLI11 parsing, every command's flag table, presets, overrides
// and the checks of the settings) through the same ram::cli::run the program calls, with
// Reach::settings: each command stops once its settings are checked, before it reads or writes
// a file, so no input can train, evaluate or write. Input: the arguments after `ram`, separated
// by NUL bytes. Any exit code is fine; a crash, an escaped exception or a sanitizer report is a
// finding.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "run.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::string> args = {"ram"};
  std::string current;
  auto flush = [&] {
    if (args.size() < 64) args.push_back(current);
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
  ram::cli::run(static_cast<int>(argv.size()), argv.data(), ram::cli::Reach::settings);
  return 0;
}
