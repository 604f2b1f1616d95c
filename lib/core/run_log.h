// The plain-text log a stage keeps in its output directory (train.log): one timestamped line per
// event, flushed as written so an interrupted run's log is complete up to the interruption.
#pragma once

#include <spdlog/spdlog.h>

#include <filesystem>
#include <memory>
#include <string>

namespace kd {

/// Opens (truncating) `file` as a log named `name`; nothing goes to the terminal.
std::shared_ptr<spdlog::logger> open_run_log(const std::filesystem::path& file,
                                             const std::string& name);

}  // namespace kd
