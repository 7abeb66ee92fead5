#pragma once
// What `ram --version` prints: the version, the commit built and how it was built.
#include <string>

namespace ram::cli {

std::string version_text();

}  // namespace ram::cli
