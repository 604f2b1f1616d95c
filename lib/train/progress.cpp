#include "lib/train/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cinttypes>

namespace kd {

std::string format_epoch(const EpochStats& s) {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "epoch %" PRId64 "/%" PRId64
                "  loss %.4f  train acc %.4f  lr %.4g  %.0f img/s  %.1f s",
                s.epoch, s.epochs, s.loss, s.accuracy, s.lr, s.images_per_second, s.seconds);
  return buf;
}

namespace {

std::string bar(int64_t done, int64_t total) {
  constexpr int kWidth = 24;
  const int filled = total > 0 ? static_cast<int>(kWidth * done / total) : 0;
  std::string out(static_cast<std::size_t>(filled), '#');
  out.resize(kWidth, ' ');
  return out;
}

}  // namespace

Progress Progress::for_stderr() { return Progress(stderr, ::isatty(::fileno(stderr)) != 0); }

void Progress::step(int64_t epoch, int64_t epochs, int64_t done, int64_t total, double loss,
                    double accuracy, double images_per_second) {
  const double fraction =
      (static_cast<double>(epoch - 1) + static_cast<double>(done) / std::max<int64_t>(total, 1)) /
      static_cast<double>(std::max<int64_t>(epochs, 1));
  reporter_.report("training", "epoch " + std::to_string(epoch) + "/" + std::to_string(epochs),
                   fraction, images_per_second);
  if (!out_ || !live_) return;
  const auto now = std::chrono::steady_clock::now();
  if (done < total && now - last_draw_ < std::chrono::milliseconds(250)) return;
  last_draw_ = now;
  std::fprintf(out_,
               "\r\033[Kepoch %" PRId64 "/%" PRId64 " [%s] %3d%%  loss %.4f  acc %.4f  %.0f img/s",
               epoch, epochs, bar(done, total).c_str(),
               static_cast<int>(100 * done / std::max<int64_t>(total, 1)), loss, accuracy,
               images_per_second);
  std::fflush(out_);
}

void Progress::count(const std::string& what, int64_t done, int64_t total) {
  reporter_.report(what, what + " " + std::to_string(done) + "/" + std::to_string(total),
                   static_cast<double>(done) / static_cast<double>(std::max<int64_t>(total, 1)), 0);
  if (!out_ || !live_) return;
  const auto now = std::chrono::steady_clock::now();
  if (done < total && now - last_draw_ < std::chrono::milliseconds(250)) return;
  last_draw_ = now;
  std::fprintf(out_, "\r\033[K%s [%s] %" PRId64 "/%" PRId64, what.c_str(), bar(done, total).c_str(),
               done, total);
  std::fflush(out_);
}

void Progress::finish(const std::string& line) {
  if (!out_ || !live_) return;
  std::fprintf(out_, "\r\033[K%s\n", line.c_str());
  std::fflush(out_);
}

void Progress::epoch_done(const EpochStats& stats, const std::string& extra) {
  if (!out_) return;
  std::fprintf(out_, "%s%s%s\n", live_ ? "\r\033[K" : "", format_epoch(stats).c_str(),
               extra.c_str());
  std::fflush(out_);
}

}  // namespace kd
