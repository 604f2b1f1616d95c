#include "lib/core/crash_guard.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <thread>

// Present only in sanitizer builds (the fuzz targets): the hook libFuzzer sets to save a crashing
// input, which a child must not run on the parent's behalf.
extern "C" void __sanitizer_set_death_callback(void (*)()) __attribute__((weak));

namespace kd {

namespace {

// The child dies of its own faults, quietly: default signal actions (not the parent's handlers
// or libFuzzer's), no sanitizer death hook, and its stderr (a library's error stack) discarded.
void become_quiet_child() {
  for (int sig : {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL}) ::signal(sig, SIG_DFL);
  if (&__sanitizer_set_death_callback != nullptr) __sanitizer_set_death_callback(nullptr);
  const int null = ::open("/dev/null", O_WRONLY);
  if (null >= 0) ::dup2(null, STDERR_FILENO);
}

constexpr int kReturned = 0;
constexpr int kThrew = 3;

}  // namespace

TrialEnd try_in_child(const std::function<void()>& trial, std::chrono::seconds limit) {
  const pid_t pid = ::fork();
  if (pid < 0) return {};  // no child to try in: the caller reads unguarded, as before
  if (pid == 0) {
    become_quiet_child();
    int status = kReturned;
    try {
      trial();
    } catch (...) {
      status = kThrew;
    }
    ::_exit(status);  // no destructors, atexit handlers or leak checks of the parent's state
  }
  const auto deadline = std::chrono::steady_clock::now() + limit;
  auto pause = std::chrono::microseconds(50);
  int status = 0;
  while (true) {
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) return {};
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return {TrialEnd::hung, "no end in " + std::to_string(limit.count()) + " s"};
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(20000));
  }
  if (WIFEXITED(status) && (WEXITSTATUS(status) == kReturned || WEXITSTATUS(status) == kThrew)) {
    return {};
  }
  if (WIFSIGNALED(status)) {
    return {TrialEnd::crashed, "signal " + std::to_string(WTERMSIG(status)) + " (" +
                                   ::strsignal(WTERMSIG(status)) + ")"};
  }
  return {TrialEnd::crashed, "exit status " + std::to_string(WEXITSTATUS(status))};
}

}  // namespace kd
