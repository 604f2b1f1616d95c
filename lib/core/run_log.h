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

/// Ends the run log this process opened last (if any) with "error: `message`", so that a failed
/// run's log says why it stopped; the command line's edge calls it with what it prints.
void end_run_log_with_error(const std::string& message);

/// The log of a process whose launcher keeps its stderr (a data-parallel stage's rank other than
/// 0): the same lines, on stderr.
std::shared_ptr<spdlog::logger> open_stderr_log(const std::string& name);

}  // namespace kd
