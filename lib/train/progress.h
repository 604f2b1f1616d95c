// Training progress for a person: a live line on a terminal, a plain line per epoch otherwise;
// and, in a stage of a study, the stage's progress file (lib/core/stage_progress.h).
#pragma once

#include <chrono>
#include <cstdio>
#include <string>

#include "lib/core/stage_progress.h"

namespace kd {

struct EpochStats {
  int64_t epoch = 0;  ///< 1-based
  int64_t epochs = 0;
  double loss = 0;      ///< mean training loss over the epoch
  double accuracy = 0;  ///< training accuracy over the epoch (augmented inputs)
  double lr = 0;        ///< learning rate at the epoch's last step
  double seconds = 0;
  double images_per_second = 0;
};

/// "epoch 3/15  loss 0.4123  train acc 0.8512  lr 0.0912  1234 img/s  4.2 s"
std::string format_epoch(const EpochStats& stats);

class Progress {
 public:
  /// Writes to `out`; `live` redraws one line in place (for terminals).
  Progress(std::FILE* out, bool live) : out_(out), live_(live) {}
  /// Progress to stderr, live when stderr is a terminal.
  static Progress for_stderr();
  /// A progress that prints nothing.
  static Progress silent() { return Progress(nullptr, false); }

  /// Called after each step; redraws at most a few times a second.
  void step(int64_t epoch, int64_t epochs, int64_t done, int64_t total, double loss,
            double accuracy, double images_per_second);
  /// Called once per epoch; `extra` is appended (validation figures, say).
  void epoch_done(const EpochStats& stats, const std::string& extra);

  /// A counted task outside training ("decoding train images"): a live bar on a terminal.
  void count(const std::string& what, int64_t done, int64_t total);
  /// Ends a counted task: on a terminal its bar becomes `line`; elsewhere nothing is printed
  /// (logs get the stage's own record, and error output stays one line).
  void finish(const std::string& line);

 private:
  std::FILE* out_;
  bool live_;
  ProgressReporter reporter_ = ProgressReporter::from_environment();
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace kd
