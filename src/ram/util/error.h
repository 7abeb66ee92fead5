#pragma once
// Every failure the library reports to a user (bad file, bad configuration, non-finite training)
// is a ram::Error whose message names the file or setting and the problem in one line.
#include <stdexcept>
#include <string>

namespace ram {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The checks of one configuration: `require(ok, message)` throws Error("<what>: <message>")
// unless ok, so every message names the configuration it is about.
struct ConfigCheck {
  const char* what;
  void operator()(bool ok, const std::string& message) const {
    if (!ok) throw Error(std::string(what) + ": " + message);
  }
};

}  // namespace ram
