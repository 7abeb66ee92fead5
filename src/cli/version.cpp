#include "version.h"

#include "build_info.h"  // RAM_GIT_COMMIT, written at build time

namespace ram::cli {

namespace {

// The vector instructions the compiler was allowed to use: results are the same on every x86-64
// machine beyond rounding, speed is not.
const char* instruction_set() {
#if defined(__AVX512F__)
  return "AVX-512";
#elif defined(__AVX2__)
  return "AVX2";
#elif defined(__SSE4_2__)
  return "SSE4.2";
#else
  return "baseline x86-64";
#endif
}

}  // namespace

std::string git_commit() {
  return RAM_GIT_COMMIT;
}

std::string version_text() {
  std::string text = "ram " RAM_VERSION "\ncommit: " RAM_GIT_COMMIT "\nbuild: " RAM_BUILD_TYPE;
  text += ", -march=" RAM_ARCH_FLAG ", vector instructions up to ";
  text += instruction_set();
#if defined(__clang__)
  text += ", clang " __clang_version__;
#elif defined(__GNUC__)
  text += ", g++ " __VERSION__;
#endif
#if !defined(NDEBUG)
  text += ", assertions on";
#endif
  return text;
}

}  // namespace ram::cli
