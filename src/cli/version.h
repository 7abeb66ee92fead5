#pragma once
// What `ram --version` prints: the version, the commit built and how it was built.
#include <string>

namespace ram::cli {

std::string version_text();

// The commit the program was built from (with " with uncommitted changes" if so), or "unknown".
std::string git_commit();

}  // namespace ram::cli
