#include "lib/core/run_log.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <ctime>
#include <fstream>
#include <optional>

namespace kd {

namespace {

std::optional<std::filesystem::path>& last_run_log() {
  static std::optional<std::filesystem::path> path;
  return path;
}

}  // namespace

std::shared_ptr<spdlog::logger> open_run_log(const std::filesystem::path& file,
                                             const std::string& name) {
  auto sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(file.string(), /*truncate=*/true);
  auto log = std::make_shared<spdlog::logger>(name, std::move(sink));
  log->set_pattern("%Y-%m-%d %H:%M:%S %v");
  log->flush_on(spdlog::level::info);
  last_run_log() = file;
  return log;
}

void end_run_log_with_error(const std::string& message) {
  if (!last_run_log() || !std::filesystem::exists(*last_run_log())) return;
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &local);
  std::ofstream(*last_run_log(), std::ios::app) << stamp << " error: " << message << "\n";
}

std::shared_ptr<spdlog::logger> open_stderr_log(const std::string& name) {
  auto log =
      std::make_shared<spdlog::logger>(name, std::make_shared<spdlog::sinks::stderr_sink_mt>());
  log->set_pattern("%Y-%m-%d %H:%M:%S %v");
  log->flush_on(spdlog::level::info);
  return log;
}

}  // namespace kd
