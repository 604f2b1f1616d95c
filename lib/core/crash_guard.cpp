#include "lib/core/crash_guard.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <thread>

#include "lib/core/error.h"

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
constexpr std::size_t kMaxMessage = 16 << 10;  // within a pipe's buffer: the child never blocks

char error_class(const Error& e) {
  if (dynamic_cast<const DataError*>(&e)) return 'D';
  if (dynamic_cast<const ConfigError*>(&e)) return 'C';
  if (dynamic_cast<const StorageError*>(&e)) return 'S';
  if (dynamic_cast<const TrainingError*>(&e)) return 'T';
  return 'E';
}

// The child's side: the error's class, then its message.
void send_refusal(int fd, const Error& e) {
  std::string out = std::string(1, error_class(e)) + e.what();
  out.resize(std::min(out.size(), kMaxMessage));
  for (std::size_t sent = 0; sent < out.size();) {
    const ssize_t n = ::write(fd, out.data() + sent, out.size() - sent);
    if (n <= 0 && errno != EINTR) return;
    if (n > 0) sent += static_cast<std::size_t>(n);
  }
}

std::string receive(int fd) {
  std::string in;
  char buffer[4096];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n > 0) in.append(buffer, static_cast<std::size_t>(n));
    if (n == 0 || (n < 0 && errno != EINTR)) return in;
  }
}

struct Pipe {
  int fds[2] = {-1, -1};
  Pipe() {
    if (::pipe2(fds, O_CLOEXEC) != 0) fds[0] = fds[1] = -1;
  }
  ~Pipe() {
    for (int fd : fds)
      if (fd >= 0) ::close(fd);
  }
  void close_end(int i) {
    ::close(fds[i]);
    fds[i] = -1;
  }
};

}  // namespace

TrialEnd try_in_child(const std::function<void()>& trial, std::chrono::seconds limit) {
  Pipe pipe;
  if (pipe.fds[0] < 0) return {};  // no way to hear back: the caller reads unguarded, as before
  const pid_t pid = ::fork();
  if (pid < 0) return {};
  if (pid == 0) {
    become_quiet_child();
    int status = kReturned;
    try {
      trial();
    } catch (const Error& e) {
      send_refusal(pipe.fds[1], e);
      status = kThrew;
    } catch (...) {
      status = kThrew;
    }
    ::_exit(status);  // no destructors, atexit handlers or leak checks of the parent's state
  }
  pipe.close_end(1);
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
  if (WIFEXITED(status) && WEXITSTATUS(status) == kThrew) {
    const std::string message = receive(pipe.fds[0]);
    if (message.empty()) return {};  // not a kdpipe error: the caller meets it itself
    return {TrialEnd::refused, message.substr(1), message[0]};
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == kReturned) return {};
  if (WIFSIGNALED(status)) {
    return {TrialEnd::crashed, "signal " + std::to_string(WTERMSIG(status)) + " (" +
                                   ::strsignal(WTERMSIG(status)) + ")"};
  }
  return {TrialEnd::crashed, "exit status " + std::to_string(WEXITSTATUS(status))};
}

void rethrow_refusal(const TrialEnd& end) {
  switch (end.error) {
    case 'D':
      throw DataError(end.how);
    case 'C':
      throw ConfigError(end.how);
    case 'S':
      throw StorageError(end.how);
    case 'T':
      throw TrainingError(end.how);
    default:
      throw Error(end.how);
  }
}

}  // namespace kd
