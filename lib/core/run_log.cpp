#include "lib/core/run_log.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

namespace kd {

std::shared_ptr<spdlog::logger> open_run_log(const std::filesystem::path& file,
                                             const std::string& name) {
  auto sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(file.string(), /*truncate=*/true);
  auto log = std::make_shared<spdlog::logger>(name, std::move(sink));
  log->set_pattern("%Y-%m-%d %H:%M:%S %v");
  log->flush_on(spdlog::level::info);
  return log;
}

std::shared_ptr<spdlog::logger> open_stderr_log(const std::string& name) {
  auto log =
      std::make_shared<spdlog::logger>(name, std::make_shared<spdlog::sinks::stderr_sink_mt>());
  log->set_pattern("%Y-%m-%d %H:%M:%S %v");
  log->flush_on(spdlog::level::info);
  return log;
}

}  // namespace kd
