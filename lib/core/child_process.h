// Running another program without a shell: arguments are passed as they are, so paths and names
// that hold quotes, `$(...)` or spaces reach the program intact and are never interpreted.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace kd {

/// Runs `argv` (argv[0] looked up on PATH unless it holds a '/') in `cwd`, its stdout and stderr
/// appended to `log_path`, and waits. The child gets this process's environment with `environment`
/// ("NAME=value" each) added or replacing. The child is killed if this process dies. Returns the
/// exit status: 128 + the signal when killed, 127 when the program could not be started.
int run_child(const std::vector<std::string>& argv, const std::filesystem::path& cwd,
              const std::filesystem::path& log_path,
              const std::vector<std::string>& environment = {});

/// Starts `argv` as run_child does, without waiting; returns its process id. An empty `log_path`
/// leaves the child's output where this process's goes.
int start_child(const std::vector<std::string>& argv, const std::filesystem::path& cwd,
                const std::filesystem::path& log_path,
                const std::vector<std::string>& environment = {});

/// The exit status of a child as run_child returns it, from waitpid's `status`.
int exit_status(int status);

}  // namespace kd
