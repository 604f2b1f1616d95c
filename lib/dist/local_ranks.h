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

/// Runs the ranks and waits for all of them. TrainingError when one died, failed, or stopped
/// answering (the others then exited with kRankLostExit): the first such rank, how it ended, and
/// the last line of its log; the ranks still running are killed first.
void run_local_ranks(const LocalRanks& launch);

/// The last non-empty line of `file` ("" when it has none or cannot be read).
std::string last_log_line(const std::filesystem::path& file);

}  // namespace kd
