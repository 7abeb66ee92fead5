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

bool ProgressBar::due(bool last) {
  if (!enabled_) return false;
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && !last && now - last_ < std::chrono::milliseconds(100)) return false;
  last_ = now;
  return true;
}

void ProgressBar::draw(const std::string& prefix, double fraction, const std::string& text) {
  constexpr int kWidth = 30;
  const int filled = static_cast<int>(fraction * kWidth);
  std::string bar(static_cast<std::size_t>(filled), '#');
  bar.resize(kWidth, '.');
  std::fprintf(stderr, "\r\033[K%s[%s] %3.0f%%  %s", prefix.c_str(), bar.c_str(), 100 * fraction,
               text.c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressBar::update(const Progress& p) {
  if (!due(p.batch == p.batches)) return;
  char text[200];
  std::snprintf(text, sizeof text, "%.0f img/s  ETA %s  loss %.4f  train error %.2f%%",
                p.images_per_second, format_duration(p.eta_seconds).c_str(), p.loss,
                100 * p.train_error);
  const std::string prefix =
      "epoch " + std::to_string(p.epoch) + "/" + std::to_string(p.epochs) + " ";
  draw(prefix, static_cast<double>(p.batch) / static_cast<double>(p.batches), text);
}

void ProgressBar::update(const CatchProgress& p) {
  if (!due(p.frames >= p.total_frames)) return;
  char text[200];
  std::snprintf(text, sizeof text,
                "%.2fM/%.2fM frames  %.0f frames/s  ETA %s  catch %.1f%% (last %llu)",
                static_cast<double>(p.frames) / 1e6, static_cast<double>(p.total_frames) / 1e6,
                p.frames_per_second, format_duration(p.eta_seconds).c_str(),
                100 * p.recent_catch_rate, static_cast<unsigned long long>(p.recent_episodes));
  draw("", static_cast<double>(p.frames) / static_cast<double>(p.total_frames), text);
}

void ProgressBar::clear() {
  if (!drawn_) return;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
  drawn_ = false;
}

}  // namespace ram::cli
