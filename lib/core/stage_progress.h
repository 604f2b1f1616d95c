// What a running stage reports of itself: the task it is on ("epoch 3/15", "chunk 7/59"), how
// far through it is, its speed and its estimate of the time left. A stage process writes it to the
// file the executor names in KDPIPE_PROGRESS_FILE (its folder's progress.json), replacing it a few
// times a second; `kdpipe run`'s live view and `kdpipe status` read it. A file, not a pipe: it
// outlives the parent, so a killed `kdpipe run` loses nothing, and `status` can read it any time.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

namespace kd {

/// The environment variable naming the file a stage process reports its progress to.
inline constexpr const char* kProgressFileVariable = "KDPIPE_PROGRESS_FILE";

struct StageProgress {
  std::string task;             ///< "epoch 3/15", "chunk 7/59", "decoding train images 10/60"
  double fraction = 0;          ///< of the work the task is part of (all epochs), 0 to 1
  double items_per_second = 0;  ///< images per second (0: not measured)
  double elapsed_seconds = 0;   ///< since the stage process started
  double eta_seconds = -1;      ///< time left of that work (-1: not yet known)
  int64_t updated_unix_ms = 0;  ///< when it was written
  int64_t pid = 0;              ///< the stage process
};

/// Replaces `path` with `p` (written beside it, then renamed: a reader sees a whole record).
/// Progress is for watching: a failure (a full disk) is ignored, and nothing is synced.
void write_progress(const std::filesystem::path& path, const StageProgress& p);

/// The record at `path`; nullopt when there is none or it is unreadable.
std::optional<StageProgress> read_progress(const std::filesystem::path& path);

/// Reports a stage process's progress to the file KDPIPE_PROGRESS_FILE names (nothing when it is
/// unset: a command run by hand). Writes at most every `interval`, and always when a task ends.
/// The estimate of time left comes from the task's pace since its first report (a resumed task
/// starts part-way, so its first fraction is the baseline).
class ProgressReporter {
 public:
  using Clock = std::chrono::steady_clock;
  /// `clock`: where the time comes from (tests pass one they move by hand).
  explicit ProgressReporter(std::filesystem::path path,
                            std::chrono::milliseconds interval = std::chrono::milliseconds(400),
                            std::function<Clock::time_point()> clock = &Clock::now);
  static ProgressReporter from_environment();

  /// `series` is the kind of work ("training", "caching"): the estimate of time left is measured
  /// from its first report. `task` is what a person sees ("epoch 3/15"); `fraction` is of the
  /// series, 0 to 1.
  void report(const std::string& series, const std::string& task, double fraction,
              double items_per_second);
  bool active() const { return !path_.empty(); }

 private:
  std::filesystem::path path_;
  std::chrono::milliseconds interval_;
  std::function<Clock::time_point()> clock_;
  Clock::time_point started_;
  Clock::time_point last_write_{};
  std::string series_;
  Clock::time_point series_start_{};
  double series_first_fraction_ = 0;
};

}  // namespace kd
