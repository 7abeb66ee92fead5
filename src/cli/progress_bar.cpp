#include "progress_bar.h"

#include <unistd.h>

#include <cmath>

namespace ram::cli {

ProgressBar::ProgressBar(bool enabled) : enabled_(enabled && isatty(fileno(stderr))) {}

std::string format_duration(double seconds) {
  const long s = std::lround(std::max(0.0, seconds));
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  return buf;
}

void ProgressBar::update(const Progress& p) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && p.batch != p.batches && now - last_ < std::chrono::milliseconds(100)) return;
  last_ = now;
  constexpr int kWidth = 30;
  const double fraction = static_cast<double>(p.batch) / static_cast<double>(p.batches);
  const int filled = static_cast<int>(fraction * kWidth);
  std::string bar(static_cast<std::size_t>(filled), '#');
  bar.resize(kWidth, '.');
  std::fprintf(stderr,
               "\r\033[Kepoch %d/%d [%s] %3.0f%%  %.0f img/s  ETA %s  loss %.4f  acc %.1f%%",
               p.epoch, p.epochs, bar.c_str(), 100 * fraction, p.images_per_second,
               format_duration(p.eta_seconds).c_str(), p.loss, 100 * p.train_accuracy);
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressBar::clear() {
  if (!drawn_) return;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
  drawn_ = false;
}

}  // namespace ram::cli
