// Running programs from tests: the kdpipe binary (end-to-end tests) and helper scripts.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

// The report draws its figures with gnuplot; without it, a test that runs a whole study (whose
// last stage is the report) skips and says why.
#define KD_SKIP_WITHOUT_GNUPLOT()                                                             \
  if (std::system("command -v gnuplot > /dev/null 2>&1") != 0)                                \
  GTEST_SKIP() << "gnuplot not found (apt-get install gnuplot-nox): a study's report cannot " \
                  "be drawn"

namespace kd::testing {

struct ProcessResult {
  int status = -1;     ///< exit status, or -1 when killed by a signal
  int signal = 0;      ///< the signal that ended it, if any
  std::string output;  ///< stdout and stderr together
};

/// Runs `command` through the shell with `env` (e.g. "A=1 B=2") prepended.
ProcessResult run_command(const std::string& command, const std::string& env = "");

/// The kdpipe binary: $KDPIPE_BIN, or the one built beside the test binary.
std::filesystem::path kdpipe_binary();

/// Runs `kdpipe <args>`.
ProcessResult run_kdpipe(const std::string& args, const std::string& env = "");

/// The repository root (for scripts the tests run).
std::filesystem::path source_dir();

/// The build tree the tests were built in.
std::filesystem::path binary_dir();

}  // namespace kd::testing
