#include "lib/dist/local_ranks.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <thread>

#include "lib/core/child_process.h"
#include "lib/dist/communicator.h"
#include "lib/dist/rendezvous.h"

namespace kd {

namespace fs = std::filesystem;

namespace {

// A fresh folder for the ranks' store file, removed when the ranks are done.
class StoreFolder {
 public:
  StoreFolder() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/kdpipe-ranks-XXXXXX";
    const std::string parent = pattern.substr(0, pattern.rfind('/'));
    const bool made = ::mkdtemp(pattern.data()) != nullptr;
    const int error = errno;
    check<Error>(made, "cannot create a folder for the ranks in ", parent, ": ",
                 std::strerror(error), " (set TMPDIR to a writable folder)");
    dir_ = pattern;
  }
  ~StoreFolder() { remove(); }
  void remove() const {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  fs::path file() const { return dir_ / "store"; }

 private:
  fs::path dir_;
};

std::string how_it_ended(int status) {
  if (status > 128) {
    const int sig = status - 128;
    return detail::concat("was killed by signal ", sig, " (", ::strsignal(sig), ")");
  }
  return detail::concat("exited with status ", status);
}

std::string with_last_line(const std::string& what, const fs::path& log) {
  const std::string line = last_log_line(log);
  return line.empty() ? what + " (" + log.string() + " is empty)"
                      : what + "; its last log line: " + line;
}

}  // namespace

std::string last_log_line(const fs::path& file) {
  std::ifstream in(file);
  std::string line, last;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") != std::string::npos) last = line;
  }
  return last.size() > 400 ? last.substr(0, 400) + "..." : last;
}

RanksOutcome run_local_ranks(const LocalRanks& launch) {
  check<ConfigError>(launch.ranks >= 1 && static_cast<int>(launch.logs.size()) == launch.ranks,
                     "run_local_ranks: one log per rank");
  const StoreFolder store;
  // Signals that end this process are waited for, not taken: the ranks and the store folder go
  // first, then this process ends by the same signal.
  sigset_t ending, before;
  sigemptyset(&ending);
  for (const int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&ending, sig);
  ::sigprocmask(SIG_BLOCK, &ending, &before);
  std::vector<pid_t> pids(launch.ranks, -1);
  std::vector<int> status(launch.ranks, -1);  // -1: running
  const auto kill_running = [&] {
    for (int r = 0; r < launch.ranks; ++r)
      if (status[r] < 0 && pids[r] > 0) ::kill(pids[r], SIGKILL);
    for (int r = 0; r < launch.ranks; ++r) {
      if (status[r] >= 0 || pids[r] <= 0) continue;
      int s = 0;
      while (::waitpid(pids[r], &s, 0) < 0 && errno == EINTR) {
      }
      status[r] = exit_status(s);
    }
  };
  const auto end_by = [&](int sig) {
    kill_running();
    store.remove();
    ::signal(sig, SIG_DFL);
    ::sigprocmask(SIG_SETMASK, &before, nullptr);
    ::raise(sig);
    ::_exit(128 + sig);  // were it ignored
  };
  for (int r = 0; r < launch.ranks; ++r) {
    std::vector<std::string> env = local_rank_environment(r, launch.ranks, store.file());
    if (r > 0)
      env.insert(env.end(), launch.other_ranks_environment.begin(),
                 launch.other_ranks_environment.end());
    fs::path log;
    if (r > 0) {
      log = launch.logs[r];
      std::ofstream(log, std::ios::trunc);  // starts empty
    }
    try {
      pids[r] = start_child(launch.argv, fs::current_path(), log, env);
    } catch (...) {
      kill_running();
      ::sigprocmask(SIG_SETMASK, &before, nullptr);
      throw;
    }
  }

  // Rank r's fault, once known, and when the first rank gave up on the others.
  int culprit = -1;
  std::string what;
  std::chrono::steady_clock::time_point lost_at{}, failed_at{};
  bool lost = false;
  const auto grace = std::chrono::seconds(3);
  for (;;) {
    int running = 0;
    for (int r = 0; r < launch.ranks; ++r) {
      if (status[r] >= 0) continue;
      int s = 0;
      const pid_t done = ::waitpid(pids[r], &s, WNOHANG);
      if (done == 0 || (done < 0 && errno == EINTR)) {
        ++running;
        continue;
      }
      status[r] = done < 0 ? 1 : exit_status(s);
      if (status[r] == kRankLostExit) {
        if (!lost) lost_at = std::chrono::steady_clock::now();
        lost = true;
      } else if (status[r] != 0 && (culprit < 0 || (r == 0 && culprit > 0))) {
        // Rank 0 failing too is preferred: its error line is already on this stderr.
        if (culprit < 0) failed_at = std::chrono::steady_clock::now();
        culprit = r;
        what = how_it_ended(status[r]);
      }
    }
    const auto now = std::chrono::steady_clock::now();
    const bool waited = lost && (running == 0 || now - lost_at > grace);
    if (culprit < 0 && waited) {
      // The others gave up waiting for it: a rank still running stopped answering.
      for (int r = 0; r < launch.ranks && culprit < 0; ++r) {
        if (status[r] < 0) {
          culprit = r;
          what = detail::concat("stopped answering: the other ranks waited ",
                                launch.timeout.count(), " s (--rank-timeout) for it");
        }
      }
      if (culprit < 0) {
        culprit = 0;
        what = "lost the other ranks, and they lost it (see each rank's log)";
      }
      failed_at = now - std::chrono::seconds(2);
    }
    // A failure found: rank 0 gets a second to fail the same way (a bad option fails every rank).
    const bool settled =
        culprit == 0 || status[0] >= 0 || running == 0 || now - failed_at > std::chrono::seconds(1);
    if (culprit >= 0 && settled) {
      const bool rank_zero_said_it =
          culprit == 0 && status[0] > 0 && status[0] < 128 && status[0] != kRankLostExit;
      const int exit_with =
          rank_zero_said_it || (status[culprit] > 0 && status[culprit] <= 2) ? status[culprit] : 1;
      kill_running();
      ::sigprocmask(SIG_SETMASK, &before, nullptr);
      if (rank_zero_said_it) return {exit_with, ""};
      return {exit_with,
              with_last_line(detail::concat("rank ", culprit, " of ", launch.ranks, " ", what),
                             launch.logs[culprit])};
    }
    if (running == 0) {
      ::sigprocmask(SIG_SETMASK, &before, nullptr);
      return {};
    }
    siginfo_t info;
    const timespec tick{0, 50 * 1000 * 1000};
    const int sig = ::sigtimedwait(&ending, &info, &tick);
    if (sig > 0) end_by(sig);
  }
}

}  // namespace kd
