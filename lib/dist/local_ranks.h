// Starting a data-parallel stage's ranks on this machine and watching them: every rank is this
// program again, with the rendezvous in its environment (rendezvous.h). When one fails the others
// are stopped, and the failure is one line naming the rank that caused it.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace kd {

/// The exit status of a rank that stopped because another failed (RankError): it is not the one
/// to blame.
inline constexpr int kRankLostExit = 75;

struct LocalRanks {
  std::vector<std::string> argv;  ///< what every rank runs (argv[0]: this program)
  int ranks = 2;
  /// Rank r's log: rank 0 writes its own (its output passes through to this process's); the
  /// output of every other rank is appended to its file, which starts empty.
  std::vector<std::filesystem::path> logs;
  /// Added to the environment ("NAME=value") of every rank but rank 0.
  std::vector<std::string> other_ranks_environment;
  /// How long a collective may wait for a rank: what names a rank that stopped answering.
  std::chrono::seconds timeout{300};
};

/// How the ranks ended.
struct RanksOutcome {
  /// 0 when every rank finished; otherwise the status to exit with: a rank's own (1 or 2) when
  /// it failed on its own, 1 when one was killed or stopped answering.
  int status = 0;
  /// The one line naming the rank that failed, how it ended and the last line of its log; empty
  /// when rank 0 failed on its own, having said why on this process's stderr (which it shares).
  std::string failure;
};

/// Runs the ranks and waits for all of them. When one died, failed, or stopped answering (the
/// others then exit with kRankLostExit), the ranks still running are killed and the outcome names
/// it. SIGINT, SIGTERM and SIGHUP sent to this process end the ranks and this process with it,
/// leaving nothing behind.
RanksOutcome run_local_ranks(const LocalRanks& launch);

/// The last non-empty line of `file` ("" when it has none or cannot be read).
std::string last_log_line(const std::filesystem::path& file);

}  // namespace kd
