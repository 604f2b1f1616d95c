// Runs a study's stages in dependency order: each stage a `kdpipe` child process in its own
// folder, independent stages concurrently (at most --jobs at once), skipping what is already done.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "lib/core/file_lock.h"
#include "pipelines/study/stage.h"

namespace kd {

struct ExecuteOptions {
  /// The run directory; stages' paths are relative to it.
  std::filesystem::path run_dir;
  /// The kdpipe binary the stages run.
  std::filesystem::path kdpipe;
  /// Stages run at once. With more than one, each stage reading data gets its share of the
  /// memory: --memory = memory_limit() / jobs less the process's reserve (lib/core/memory_limit.h).
  int jobs = 1;
  /// Cores shared among the running stages (0: all): each gets max(1, threads / jobs).
  int threads = 0;
  DeviceChoice device = DeviceChoice::cpu;
  /// List what would run without running it.
  bool dry_run = false;
  /// Keep run_dir/manifest.json up to date. Off for a single stage run as a cluster job, where
  /// other jobs run the other stages at the same time.
  bool write_manifest = true;
  /// The caller already holds run_dir/run.lock (lock_run_directory), taken before it wrote
  /// anything into the run directory; execute_stages then does not take it again.
  bool run_locked = false;
  /// Running inside a SLURM job: a stage of several ranks runs them as one job step
  /// (`srun --ntasks=N kdpipe teach …`, SLURM starting the ranks) rather than starting them here.
  bool ranks_by_srun = false;
  /// Fault injection for the tests of resuming: after this many stages have run, this process
  /// kills itself with SIGKILL (0: never). The CLI fills it from KDPIPE_FAULT_KILL_AFTER_STAGES.
  int kill_after_stages = 0;
  /// Told when a stage starts running and when it ends (done, failed, blocked, or found done),
  /// one call at a time, from the threads that run the stages: for a live view of the run.
  std::function<void(const std::string& id, StageState state)> on_state;
};

struct StageOutcome {
  std::string id;
  /// done, failed or blocked (a dependency failed); pending in a dry run when it would run.
  StageState state = StageState::pending;
  bool ran = false;    ///< done by this call, rather than found done
  std::string reason;  ///< why it ran or would run; why it failed
  double seconds = 0;
};

/// Takes run_dir/run.lock, creating run_dir: one whole run of a run directory at a time.
/// Error naming the lock when another process holds it; nothing in run_dir is touched then.
std::unique_ptr<FileLock> lock_run_directory(const std::filesystem::path& run_dir);

/// Why a stage must run ("new", "its inputs changed", ...), or "" when it finished with the same
/// input hash and its output exists.
std::string pending_reason(const Stage& stage, const std::filesystem::path& run_dir);

/// The part of pending_reason about the stage's output alone: "" when it exists and validates.
std::string pending_reason_of_output(const Stage& stage, const std::filesystem::path& run_dir);

/// Runs (or, dry, inspects) every stage. With write_manifest, the call holds run_dir/run.lock:
/// Error, before anything runs, when another process holds it. Each stage folder gets stage.json
/// (its input hash and state) and stage.log, and its process reports its progress to progress.json
/// there (lib/core/stage_progress.h); run_dir/manifest.json lists them all and is rewritten as they
/// change.
std::vector<StageOutcome> execute_stages(const std::vector<Stage>& stages,
                                         const ExecuteOptions& options,
                                         const std::function<void(const std::string&)>& log);

}  // namespace kd
