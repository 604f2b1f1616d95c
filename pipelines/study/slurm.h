// The cluster executor: pending stages as SLURM batch jobs, chained by dependencies. Each job runs
// one stage through a kdpipe command with `--only` (the bookkeeping of the local executor); for a
// study, a last job after all of them runs `kdpipe run` locally, which finds every stage done,
// rewrites the manifest and writes the report. `kdpipe judge` submits a round and waits for it.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "pipelines/study/executor.h"

namespace kd {

struct SlurmJobs {
  std::filesystem::path submit;  ///< the script that submits them all, in dependency order
  int stages = 0;                ///< stages given a job (those not already done)
};

/// What the jobs run: kdpipe command lines (the binary first), each word quoted in the script.
struct SlurmCommands {
  /// The job of one stage: a command that runs that stage alone (`kdpipe run STUDY --only ID`).
  std::function<std::vector<std::string>(const Stage&)> stage;
  /// The last job, after every stage's job (report.sh); empty: none.
  std::vector<std::string> last;
  std::string written_by;  ///< "kdpipe run --executor slurm", for the scripts' first comment
};

/// Writes run_dir/slurm/: one job script per pending stage, report.sh (with commands.last), and
/// submit.sh, which calls `sbatch --parsable --kill-on-invalid-dep=yes` for each, with
/// --dependency=afterok on the jobs of its pending dependencies (a job whose dependency failed is
/// cancelled, not left waiting), and passes `sbatch_args` to every sbatch. Each job asks for
/// options.threads CPUs (when > 0) and, with options.device "cuda", one GPU.
SlurmJobs write_slurm_jobs(const std::vector<Stage>& stages, const ExecuteOptions& options,
                           const SlurmCommands& commands,
                           const std::vector<std::string>& sbatch_args);

/// A study's jobs: `kdpipe run STUDY --only ID` for each stage, then `kdpipe run STUDY` (the
/// report). `study_file` is the run's resolved study.ini.
SlurmJobs write_slurm_jobs(const std::vector<Stage>& stages, const ExecuteOptions& options,
                           const std::filesystem::path& study_file,
                           const std::vector<std::string>& sbatch_args);

/// Runs submit.sh (sbatch for every job) and returns what it printed; Error with its last line
/// and its log (run_dir/slurm/submit.log) when it fails.
std::string submit_slurm_jobs(const SlurmJobs& jobs, const std::filesystem::path& run_dir);

/// Stage id → SLURM job id, of the jobs submit.sh submitted last (run_dir/slurm/submitted.tsv).
std::map<std::string, std::string> submitted_jobs(const std::filesystem::path& run_dir);

/// squeue's state of each of this user's jobs still queued or running: job id → "RUNNING",
/// "PENDING (Dependency)", ...; nullopt when squeue does not answer. Asked by user, not by job
/// ids: squeue refuses ids it has forgotten.
std::optional<std::map<std::string, std::string>> queue_states();

/// `text` quoted for a POSIX shell.
std::string shell_quote(const std::string& text);

}  // namespace kd
