// Waiting for SLURM: the jobs of one submission watched until they have all left the queue, and
// each stage's outcome read from its folder, as the local executor reports it. For `kdpipe judge`,
// which submits a round, waits for it, and plans the next one from what its students measured.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "pipelines/study/executor.h"

namespace kd {

struct SlurmWait {
  double poll_seconds = 10;  ///< how often squeue is asked
  /// squeue may fail for a while (a controller restarting); Error after this long without answer.
  double squeue_patience_seconds = 600;
};

/// Waits for the jobs of run_dir/slurm/submitted.tsv, in `stages` (dependencies first), to leave
/// the queue, telling `log` as each stage ends. A stage is done when its output is (pending_reason
/// empty); failed when its job left the queue without finishing it (the reason: its log's last
/// line, or that SLURM ended the job: cancelled, out of time or memory); blocked when a stage it
/// reads failed. Stages without a job are returned as they stand (done, or pending).
std::vector<StageOutcome> wait_for_slurm_jobs(const std::vector<Stage>& stages,
                                              const std::filesystem::path& run_dir,
                                              const SlurmWait& wait,
                                              const std::function<void(const std::string&)>& log);

}  // namespace kd
