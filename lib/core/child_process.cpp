#include "lib/core/child_process.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>

#include "lib/core/error.h"
#include "lib/core/files.h"

namespace kd {

namespace {

// This process's environment with `extra` added or replacing, built before the fork (the child
// of a threaded process may not allocate).
std::vector<std::string> environment_with(const std::vector<std::string>& extra) {
  std::vector<std::string> out;
  for (char** e = environ; *e; ++e) {
    const std::string entry(*e);
    const std::string name = entry.substr(0, entry.find('='));
    const bool replaced = std::any_of(extra.begin(), extra.end(), [&](const std::string& x) {
      return x.compare(0, name.size() + 1, name + "=") == 0;
    });
    if (!replaced) out.push_back(entry);
  }
  out.insert(out.end(), extra.begin(), extra.end());
  return out;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

int start_child(const std::vector<std::string>& args, const std::filesystem::path& cwd,
                const std::filesystem::path& log_path,
                const std::vector<std::string>& environment) {
  // The log is appended to: one that is a FIFO would block the child (and this call) for ever, a
  // device would take the output. Refused, named, before anything starts.
  if (!log_path.empty()) check_replaceable(log_path, "the log of " + args.front());
  std::vector<std::string> argv_s = args;
  std::vector<std::string> env_s = environment_with(environment);
  const std::vector<char*> argv = pointers(argv_s);
  const std::vector<char*> envp = pointers(env_s);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the parent died before prctl took effect
    // Signals the parent blocks to wait for them are the child's to receive.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (!log_path.empty()) {  // before chdir: a relative log is the caller's
      const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd < 0) ::_exit(126);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::close(fd);
    }
    if (::chdir(cwd.c_str()) != 0) ::_exit(126);
    ::execvpe(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  check<Error>(pid > 0, "starting ", args.front(), ": fork failed");
  return pid;
}

int exit_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

int run_child(const std::vector<std::string>& args, const std::filesystem::path& cwd,
              const std::filesystem::path& log_path, const std::vector<std::string>& environment) {
  const pid_t pid = start_child(args, cwd, log_path, environment);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return exit_status(status);
}

}  // namespace kd
