#pragma once
// Small files written whole: to a temporary beside the target, then renamed over it, so that a
// reader (or a crash) never sees half a file.
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "ram/util/error.h"

namespace ram {

// Throws ram::Error naming `path` and `what` ("the metrics file") when it cannot be written.
inline void write_file_atomically(const std::filesystem::path& path, std::string_view text,
                                  const std::string& what) {
  const std::filesystem::path temporary = path.string() + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary);
    out << text;
    if (!out) throw Error(path.string() + ": cannot write " + what);
  }
  std::filesystem::rename(temporary, path);
}

}  // namespace ram
