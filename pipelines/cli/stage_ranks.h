// How `kdpipe teach` and `kdpipe distill` run on several processes (--ranks N): a process that a
// launcher started as a rank (kdpipe's own, SLURM's srun, torchrun: lib/dist/rendezvous.h) joins
// the group; any other starts the N ranks on this machine itself and watches them.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "lib/dist/communicator.h"
#include "pipelines/cli/options.h"

namespace kd::cli {

/// The ranks options of a training command (--rank-timeout).
po::options_description rank_options();

struct StageRanks {
  /// This process is one of several ranks: its handle on the group.
  std::unique_ptr<Communicator> communicator;
  /// This process started the ranks on this machine, and they ended: nothing left to do but
  /// exit with `exit_status` (rank 0 has said what it wrote, or why it failed).
  bool launched = false;
  int exit_status = 0;
  int rank() const { return communicator ? communicator->rank() : 0; }
};

/// Joins or starts the ranks of `command` (its arguments `args`, parsed into `vm`) for `ranks`
/// processes writing to `out`; sets the threads (--threads 0: this node's cores shared among its
/// ranks). TrainingError when a started rank failed (naming it, unless rank 0 failed and said
/// why itself); RankError when this process is a rank and the group could not form.
StageRanks join_or_start_ranks(const std::string& command, const std::vector<std::string>& args,
                               const po::variables_map& vm, int64_t ranks,
                               const std::filesystem::path& out);

}  // namespace kd::cli
