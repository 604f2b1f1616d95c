#include "tests/support/process.h"

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>

#include "tests/support/paths.h"

namespace kd::testing {

ProcessResult run_command(const std::string& command, const std::string& env) {
  // The shell runs the command via exec, so a signal that kills it is what the shell reports.
  const std::string cmd = (env.empty() ? "" : "env " + env + " ") + command + " 2>&1";
  ProcessResult r;
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), buf.size(), pipe)) r.output += buf.data();
  const int raw = ::pclose(pipe);
  if (WIFEXITED(raw)) {
    r.status = WEXITSTATUS(raw);
    // A shell reports a child killed by signal s as exit status 128 + s.
    if (r.status > 128 && r.status < 160) r.signal = r.status - 128, r.status = -1;
  } else if (WIFSIGNALED(raw)) {
    r.signal = WTERMSIG(raw);
  }
  return r;
}

std::filesystem::path kdpipe_binary() {
  if (const char* env = std::getenv("KDPIPE_BIN")) return env;
  return std::filesystem::read_symlink("/proc/self/exe").parent_path() / "kdpipe";
}

ProcessResult run_kdpipe(const std::string& args, const std::string& env) {
  return run_command(kdpipe_binary().string() + " " + args, env);
}

std::filesystem::path source_dir() { return KD_TEST_SOURCE_DIR; }

std::filesystem::path binary_dir() { return KD_TEST_BINARY_DIR; }

}  // namespace kd::testing
