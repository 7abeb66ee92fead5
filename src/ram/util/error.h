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

}  // namespace ram
