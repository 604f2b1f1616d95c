// Where every stage of a run directory stands, read without changing anything: for
// `kdpipe status`, during a run, after one was killed, and for runs whose stages are SLURM jobs.
// The stage list comes from the run's own study.ini (written when the run started), each stage's
// state from its folder: stage.json, its lock (held while it runs), progress.json, stage.log.
#pragma once

#include <array>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "lib/core/enum_names.h"
#include "lib/core/stage_progress.h"
#include "pipelines/study/stage.h"
#include "pipelines/study/study_enums.h"

namespace kd {

/// What `status` says of a stage. `interrupted`: it was running and its process is gone (a killed
/// run); the next `kdpipe run` resumes it. `queued`: a SLURM job waits for it.
enum class StageStatusKind { pending, queued, running, interrupted, done, failed, blocked };

template <>
struct EnumNames<StageStatusKind> {
  static constexpr std::array<const char*, 7> names = {
      "pending", "queued", "running", "interrupted", "done", "failed", "blocked"};
};

struct StageStatus {
  std::string id;
  StageKind kind = StageKind::teach;
  StageStatusKind state = StageStatusKind::pending;
  /// pending: why it must run; failed: the log's last line; blocked: which dependency failed;
  /// interrupted: when it started; done: its headline figure ("test accuracy 0.8512").
  std::string detail;
  double seconds = -1;                    ///< done or failed: how long it ran (-1: unknown)
  std::optional<StageProgress> progress;  ///< running: its latest report
  std::string job;                        ///< its SLURM job id, when submitted
  std::string queue_state;                ///< the job's state in squeue (PENDING, RUNNING, ...)
};

struct RunStatus {
  std::filesystem::path run_dir;
  std::string study;    ///< the study's name
  long run_pid = 0;     ///< the `kdpipe run` working on it now (0: none on this machine)
  bool slurm = false;   ///< stages were submitted as SLURM jobs
  bool squeue = false;  ///< squeue answered (queue states are known)
  std::vector<StageStatus> stages;
};

/// Reads the run directory of a study; StorageError when it holds no study.ini (not a run
/// directory).
RunStatus read_run_status(const std::filesystem::path& run_dir);

/// Reads where each of `stages`, planned for run_dir by `name` (a study, or judge), stands.
RunStatus read_run_status(const std::filesystem::path& run_dir, const std::string& name,
                          const std::vector<Stage>& stages);

}  // namespace kd
