// The cluster executor: a study's pending stages as SLURM batch jobs, chained by dependencies.
// Each job runs one stage through `kdpipe run --only`, with the bookkeeping of the local executor;
// a last job, after all of them, runs `kdpipe run` locally, which finds every stage done, rewrites
// the manifest and writes the report.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "pipelines/study/executor.h"

namespace kd {

struct SlurmJobs {
  std::filesystem::path submit;  ///< the script that submits them all, in dependency order
  int stages = 0;                ///< stages given a job (those not already done)
};

/// Writes run_dir/slurm/: one job script per pending stage, report.sh, and submit.sh, which calls
/// `sbatch --parsable` for each with --dependency=afterok on the jobs of its pending dependencies
/// and passes `sbatch_args` to every sbatch. `study_file` is the run's resolved study.ini. Each
/// job asks for options.threads CPUs (when > 0) and, with options.device "cuda", one GPU.
SlurmJobs write_slurm_jobs(const std::vector<Stage>& stages, const ExecuteOptions& options,
                           const std::filesystem::path& study_file,
                           const std::vector<std::string>& sbatch_args);

/// `text` quoted for a POSIX shell.
std::string shell_quote(const std::string& text);

}  // namespace kd
