#pragma once
// A one-line progress bar on stderr, redrawn at most ten times a second when stderr is a
// terminal; when it is not (logs, CI), nothing is drawn and only the per-epoch lines appear.
#include <chrono>
#include <cstdio>
#include <string>

#include "ram/train/catch_train.h"
#include "ram/train/train.h"

namespace ram::cli {

class ProgressBar {
 public:
  explicit ProgressBar(bool enabled);
  void update(const Progress& p);
  void update(const CatchProgress& p);
  // Clears the bar so a normal line can be printed.
  void clear();

 private:
  // True when a redraw is due (at most ten a second, and always for the last one).
  bool due(bool last);
  void draw(const std::string& prefix, double fraction, const std::string& text);
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_;
};

std::string format_duration(double seconds);

}  // namespace ram::cli
