#include "lib/core/crash_guard.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <new>
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
constexpr int kOutOfMemory = 4;
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

struct Memory {
  double resident_mb = 0;  ///< resident now (0 when /proc cannot tell)
  double virtual_mb = 0;   ///< address space now
};

Memory memory_now() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  if (!(statm >> pages >> resident)) return {};
  const double page_mb = static_cast<double>(::sysconf(_SC_PAGESIZE)) / 1e6;
  return {static_cast<double>(resident) * page_mb, static_cast<double>(pages) * page_mb};
}

// The child may grow its address space by kChildHeadroomMb at most: a size a library trusts from
// a damaged file fails its allocation there instead of taking the machine's memory. Not under a
// sanitizer, whose shadow mappings are terabytes of address space.
constexpr double kChildHeadroomMb = 1024;
void cap_child_memory(const Memory& at_fork) {
  if (&__sanitizer_set_death_callback != nullptr || at_fork.virtual_mb <= 0) return;
  const auto limit = static_cast<rlim_t>((at_fork.virtual_mb + kChildHeadroomMb) * 1e6);
  const rlimit cap{limit, limit};
  ::setrlimit(RLIMIT_AS, &cap);
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
  const Memory at_fork = memory_now();
  const pid_t pid = ::fork();
  if (pid < 0) return {};
  if (pid == 0) {
    become_quiet_child();
    cap_child_memory(at_fork);
    int status = kReturned;
    try {
      trial();
    } catch (const Error& e) {
      send_refusal(pipe.fds[1], e);
      status = kThrew;
    } catch (const std::bad_alloc&) {
      status = kOutOfMemory;
    } catch (...) {
      status = kThrew;
    }
    ::_exit(status);  // no destructors, atexit handlers or leak checks of the parent's state
  }
  pipe.close_end(1);
  const auto deadline = std::chrono::steady_clock::now() + limit;
  auto pause = std::chrono::microseconds(50);
  int status = 0;
  rusage usage{};
  while (true) {
    const pid_t done = ::wait4(pid, &status, WNOHANG, &usage);
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
  const double growth =
      std::max(0.0, static_cast<double>(usage.ru_maxrss) * 1e3 / 1e6 - at_fork.resident_mb);
  if (WIFEXITED(status) && WEXITSTATUS(status) == kThrew) {
    const std::string message = receive(pipe.fds[0]);
    if (!message.empty()) return {TrialEnd::refused, message.substr(1), message[0], growth};
  }
  if (WIFEXITED(status) && (WEXITSTATUS(status) == kReturned || WEXITSTATUS(status) == kThrew)) {
    TrialEnd end;  // returned, or threw what the caller is to meet itself
    end.memory_growth_mb = growth;
    return end;
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == kOutOfMemory) {
    return {TrialEnd::crashed, "out of memory"};
  }
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
