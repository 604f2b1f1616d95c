#include "lib/core/stage_progress.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "lib/core/files.h"

namespace kd {

namespace fs = std::filesystem;

namespace {

int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

void write_progress(const fs::path& path, const StageProgress& p) {
  const std::string text = nlohmann::json{{"task", p.task},
                                          {"fraction", p.fraction},
                                          {"items_per_second", p.items_per_second},
                                          {"elapsed_seconds", p.elapsed_seconds},
                                          {"eta_seconds", p.eta_seconds},
                                          {"updated_unix_ms", p.updated_unix_ms},
                                          {"pid", p.pid}}
                               .dump() +
                           "\n";
  const fs::path tmp = temporary_path_for(path);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;
  const bool whole = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  const bool closed = ::close(fd) == 0;
  std::error_code ec;
  if (whole && closed) fs::rename(tmp, path, ec);
  if (!whole || !closed || ec) fs::remove(tmp, ec);
}

std::optional<StageProgress> read_progress(const fs::path& path) {
  try {
    const nlohmann::json j = nlohmann::json::parse(read_text(path));
    StageProgress p;
    p.task = j.at("task").get<std::string>();
    p.fraction = j.at("fraction").get<double>();
    p.items_per_second = j.at("items_per_second").get<double>();
    p.elapsed_seconds = j.at("elapsed_seconds").get<double>();
    p.eta_seconds = j.at("eta_seconds").get<double>();
    p.updated_unix_ms = j.at("updated_unix_ms").get<int64_t>();
    p.pid = j.at("pid").get<int64_t>();
    return p;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

ProgressReporter::ProgressReporter(fs::path path, std::chrono::milliseconds interval,
                                   std::function<Clock::time_point()> clock)
    : path_(std::move(path)), interval_(interval), clock_(std::move(clock)), started_(clock_()) {}

ProgressReporter ProgressReporter::from_environment() {
  const char* path = std::getenv(kProgressFileVariable);
  return ProgressReporter(path && *path ? fs::path(path) : fs::path());
}

void ProgressReporter::report(const std::string& series, const std::string& task, double fraction,
                              double items_per_second) {
  if (path_.empty()) return;
  const Clock::time_point now = clock_();
  if (series != series_) {
    series_ = series;
    series_start_ = now;
    series_first_fraction_ = fraction;
  } else if (fraction < 1 && now - last_write_ < interval_) {
    return;
  }
  last_write_ = now;
  StageProgress p;
  p.task = task;
  p.fraction = fraction;
  p.items_per_second = items_per_second;
  p.elapsed_seconds = std::chrono::duration<double>(now - started_).count();
  const double span = std::chrono::duration<double>(now - series_start_).count();
  const double gained = fraction - series_first_fraction_;
  p.eta_seconds = gained > 0 && span > 0 ? span * (1 - fraction) / gained : -1;
  p.updated_unix_ms = unix_ms();
  p.pid = static_cast<int64_t>(::getpid());
  write_progress(path_, p);
}

}  // namespace kd
