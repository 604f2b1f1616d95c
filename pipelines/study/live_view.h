// `kdpipe run` on a terminal: the stages' plain lines scroll as before, and below them a block is
// redrawn a few times a second: one line per running stage (its task, percent done, images/s,
// time so far, the stage's own estimate of the time left) and an overall line (stages finished of
// all, an estimate for the whole run). Stages report through their progress.json
// (lib/core/stage_progress.h).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "lib/core/stage_progress.h"
#include "pipelines/study/stage.h"

namespace kd {

class LiveView {
 public:
  /// Draws on `terminal` (a tty); plain lines go to `lines` (stdout), which may be the same tty.
  LiveView(std::FILE* terminal, std::FILE* lines, const std::vector<Stage>& stages,
           std::filesystem::path run_dir, int jobs);
  /// Stops redrawing and leaves the plain lines only.
  ~LiveView();
  LiveView(const LiveView&) = delete;
  LiveView& operator=(const LiveView&) = delete;

  /// A plain line, printed above the block.
  void log(const std::string& line);
  /// The executor's report of a stage starting or ending (ExecuteOptions::on_state).
  void on_state(const std::string& id, StageState state);

  /// The block as it would be drawn now, one string per line (for tests), `width` columns at most.
  std::vector<std::string> block(int width);

 private:
  using Clock = std::chrono::steady_clock;
  struct Running {
    StageKind kind;
    Clock::time_point since;
  };
  void redraw_locked();
  void clear_locked();
  std::vector<std::string> block_locked(int width) const;
  using ProgressOf = std::map<std::string, std::optional<StageProgress>>;
  double estimate_left_locked(const ProgressOf& progress, bool* complete) const;

  std::FILE* terminal_;
  std::FILE* lines_;
  std::filesystem::path run_dir_;
  int jobs_;
  std::map<std::string, StageKind> kinds_;
  std::map<std::string, Running> running_;
  std::map<StageKind, std::vector<double>> seconds_of_kind_;  // stages that ran here, by kind
  std::map<StageKind, std::size_t> pending_of_kind_;          // neither running nor finished
  std::size_t finished_ = 0;
  Clock::time_point started_ = Clock::now();
  int drawn_ = 0;  // lines of the block on screen

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread painter_;
};

/// "1:05", "1:02:03": a span of seconds for a person.
std::string clock_text(double seconds);

}  // namespace kd
