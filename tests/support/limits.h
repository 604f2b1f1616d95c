// Running kdpipe under a memory limit: its whole address space capped (`ulimit -v`, RLIMIT_AS),
// so a test of "reads in constant memory" fails when kdpipe allocates what it should not, instead
// of taking the machine's memory. kdpipe maps about 0.8 GB at start (LibTorch and its threads).
#pragma once

#include <cstddef>
#include <string>

namespace kd::testing {

/// The shell command that runs `kdpipe ARGS` with its address space capped at `limit` bytes.
std::string limited_kdpipe_command(std::size_t limit, const std::string& args);

}  // namespace kd::testing
