#include "pipelines/study/live_view.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "lib/core/stage_progress.h"

namespace kd {

namespace fs = std::filesystem;

std::string clock_text(double seconds) {
  const auto s = static_cast<int64_t>(std::llround(std::max(seconds, 0.0)));
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%lld:%02lld", static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  }
  return buf;
}

namespace {

int terminal_width(std::FILE* terminal) {
  winsize size{};
  if (::ioctl(::fileno(terminal), TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  return 80;
}

// Cut to `width` columns (the block's lines are ASCII), so that no line wraps and the redraw's
// cursor movements stay exact.
std::string fit(std::string line, int width) {
  if (static_cast<int>(line.size()) > width) line.resize(static_cast<std::size_t>(width));
  return line;
}

}  // namespace

LiveView::LiveView(std::FILE* terminal, std::FILE* lines, const std::vector<Stage>& stages,
                   fs::path run_dir, int jobs)
    : terminal_(terminal), lines_(lines), run_dir_(std::move(run_dir)), jobs_(std::max(jobs, 1)) {
  for (const Stage& s : stages) {
    kinds_[s.id] = s.kind;
    ++pending_of_kind_[s.kind];
  }
  painter_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stop_) {
      redraw_locked();
      wake_.wait_for(lock, std::chrono::milliseconds(250));
    }
  });
}

LiveView::~LiveView() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
    clear_locked();
  }
  wake_.notify_all();
  painter_.join();
}

void LiveView::log(const std::string& line) {
  std::lock_guard<std::mutex> lock(mutex_);
  clear_locked();
  std::fprintf(lines_, "%s\n", line.c_str());
  std::fflush(lines_);
  redraw_locked();
}

void LiveView::on_state(const std::string& id, StageState state) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto kind = kinds_.find(id);
  if (kind == kinds_.end()) return;
  if (state == StageState::running) {
    running_[id] = {kind->second, Clock::now()};
    --pending_of_kind_[kind->second];
    return;
  }
  const auto it = running_.find(id);
  if (it != running_.end()) {
    if (state == StageState::done) {
      seconds_of_kind_[it->second.kind].push_back(
          std::chrono::duration<double>(Clock::now() - it->second.since).count());
    }
    running_.erase(it);
  } else {
    --pending_of_kind_[kind->second];  // found done, or blocked: it never ran
  }
  ++finished_;
}

std::vector<std::string> LiveView::block(int width) {
  std::lock_guard<std::mutex> lock(mutex_);
  return block_locked(width);
}

// Seconds of work left, spread over the jobs: running stages by their own estimate (else by the
// mean of their kind that ran here, less their time so far), pending ones by their kind's mean.
// `complete` is false when some kind has no finished stage yet to go by (the figure is then a
// lower bound).
double LiveView::estimate_left_locked(const ProgressOf& progress, bool* complete) const {
  *complete = true;
  auto mean_of = [&](StageKind kind) {
    const auto it = seconds_of_kind_.find(kind);
    if (it == seconds_of_kind_.end() || it->second.empty()) return -1.0;
    return std::accumulate(it->second.begin(), it->second.end(), 0.0) /
           static_cast<double>(it->second.size());
  };
  double left = 0;
  for (const auto& [id, r] : running_) {
    const auto& p = progress.at(id);
    const double since = std::chrono::duration<double>(Clock::now() - r.since).count();
    if (p && p->eta_seconds >= 0) {
      left += p->eta_seconds;
    } else if (mean_of(r.kind) >= 0) {
      left += std::max(0.0, mean_of(r.kind) - since);
    } else {
      *complete = false;
    }
  }
  for (const auto& [kind, count] : pending_of_kind_) {
    if (count == 0) continue;
    const double mean = mean_of(kind);
    if (mean >= 0) {
      left += mean * static_cast<double>(count);
    } else {
      *complete = false;
    }
  }
  return left / jobs_;
}

std::vector<std::string> LiveView::block_locked(int width) const {
  std::vector<std::string> out;
  int id_width = 0;     // the running stages' ids, aligned
  ProgressOf progress;  // each stage's file read once per drawing
  for (const auto& [id, r] : running_) {
    id_width = std::max(id_width, static_cast<int>(id.size()));
    progress[id] = read_progress(run_dir_ / id / "progress.json");
  }
  for (const auto& [id, r] : running_) {
    const double since = std::chrono::duration<double>(Clock::now() - r.since).count();
    const auto& p = progress.at(id);
    char buf[512];
    if (!p) {
      std::snprintf(buf, sizeof buf, "  %-*s  starting  %s", id_width, id.c_str(),
                    clock_text(since).c_str());
    } else {
      const std::string rate = p->items_per_second > 0
                                   ? std::to_string(std::lround(p->items_per_second)) + " img/s"
                                   : std::string();
      const std::string eta =
          p->eta_seconds >= 0 ? "  ETA " + clock_text(p->eta_seconds) : std::string();
      std::snprintf(buf, sizeof buf, "  %-*s  %-11s %3d%%  %-11s %s%s", id_width, id.c_str(),
                    p->task.c_str(), static_cast<int>(100 * std::clamp(p->fraction, 0.0, 1.0)),
                    rate.c_str(), clock_text(since).c_str(), eta.c_str());
    }
    out.push_back(fit(buf, width));
  }
  bool complete = true;
  const double left = estimate_left_locked(progress, &complete);
  const double elapsed = std::chrono::duration<double>(Clock::now() - started_).count();
  const std::size_t total = kinds_.size();
  std::string overall = "[" + std::to_string(finished_) + "/" + std::to_string(total) +
                        " stages done, " + std::to_string(running_.size()) + " running]  " +
                        clock_text(elapsed);
  overall += complete ? "  ETA " + clock_text(left) : "  ETA at least " + clock_text(left);
  out.push_back(fit(overall, width));
  return out;
}

void LiveView::clear_locked() {
  if (drawn_ == 0) return;
  std::fprintf(terminal_, "\r\033[%dA\033[J", drawn_);
  std::fflush(terminal_);
  drawn_ = 0;
}

void LiveView::redraw_locked() {
  if (stop_) return;
  const std::vector<std::string> lines = block_locked(terminal_width(terminal_) - 1);
  std::string text = drawn_ > 0 ? "\r\033[" + std::to_string(drawn_) + "A" : std::string("\r");
  for (const std::string& line : lines) text += "\033[K" + line + "\n";
  text += "\033[J";
  std::fputs(text.c_str(), terminal_);
  std::fflush(terminal_);
  drawn_ = static_cast<int>(lines.size());
}

}  // namespace kd
