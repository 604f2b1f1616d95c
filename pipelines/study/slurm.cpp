#include "pipelines/study/slurm.h"

#include <cstdio>
#include <map>
#include <sstream>

#include "lib/core/error.h"
#include "lib/core/files.h"
#include "lib/core/names.h"

namespace kd {

namespace fs = std::filesystem;

std::string shell_quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

namespace {

std::string quoted_words(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& w : words) out += (out.empty() ? "" : " ") + shell_quote(w);
  return out;
}

// One batch script: SLURM directives, then `command` replacing the shell. sbatch reads the
// directives itself, without a shell, and expands % in them: they hold only what kdpipe made
// (stage folders, lib/core/names.h), never a user's path. The log is relative to the job's
// working directory, run_dir/slurm, where submit.sh calls sbatch.
std::string job_script(const std::string& name, const std::string& log,
                       const ExecuteOptions& options, const std::vector<std::string>& command) {
  std::ostringstream o;
  o << "#!/usr/bin/env bash\n"
    << "# Written by kdpipe run --executor slurm.\n"
    << "#SBATCH --job-name=" << name << "\n"
    << "#SBATCH --output=" << log << "\n";
  if (options.threads > 0) o << "#SBATCH --cpus-per-task=" << options.threads << "\n";
  if (options.device == DeviceChoice::cuda) o << "#SBATCH --gres=gpu:1\n";
  o << "exec " << quoted_words(command) << "\n";
  return o.str();
}

void write_script(const fs::path& path, const std::string& text) {
  write_text_atomically(path, text);
  fs::permissions(path, fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec,
                  fs::perm_options::add);
}

}  // namespace

SlurmJobs write_slurm_jobs(const std::vector<Stage>& stages, const ExecuteOptions& options,
                           const fs::path& study_file,
                           const std::vector<std::string>& sbatch_args) {
  const fs::path dir = options.run_dir / "slurm";
  fs::remove_all(dir / "jobs");  // an earlier submission's scripts
  ensure_directory(dir / "jobs");
  // Every stage's own --threads: the job's CPUs (0: all the CPUs the job is given).
  const std::string threads = std::to_string(options.threads);
  std::ostringstream submit;
  submit << "#!/usr/bin/env bash\n"
         << "# Written by kdpipe run --executor slurm: submits the pending stages of the run's\n"
         << "# study as SLURM jobs, each after the jobs of the stages it reads, then report.sh\n"
         << "# after them all. Job logs: ../STAGE/slurm-JOB.out.\n"
         << "set -euo pipefail\n"
         << "cd \"$(dirname \"$0\")\"\n"
         << "extra=(" << quoted_words(sbatch_args) << ")\n"
         << "submit() { sbatch --parsable \"${extra[@]}\" \"$@\" | cut -d';' -f1; }\n"
         << "# Each stage's job id, for kdpipe status.\n"
         << ": > submitted.tsv\n";
  std::map<std::string, std::string> job_of;  // stage id → shell variable holding its job id
  SlurmJobs jobs;
  for (const Stage& stage : stages) {
    if (pending_reason(stage, options.run_dir).empty()) continue;
    ++jobs.stages;
    char number[16];
    std::snprintf(number, sizeof number, "%03d", jobs.stages);
    check<ConfigError>(is_stage_folder(stage.id), "stage '", escaped(stage.id),
                       "' is no safe folder name for a SLURM directive");
    std::string file = std::string(number) + "-" + stage.id + ".sh";
    for (char& c : file) c = c == '/' ? '-' : c;
    ensure_directory(options.run_dir / stage.id);
    write_script(dir / "jobs" / file,
                 job_script("kdpipe:" + stage.id, "../" + stage.id + "/slurm-%j.out", options,
                            {options.kdpipe.string(), "run", study_file.string(), "--out",
                             options.run_dir.string(), "--only", stage.id, "--executor", "local",
                             "--threads", threads, "--device", to_string(options.device)}));
    std::string after;
    for (const std::string& d : stage.deps) {
      if (job_of.count(d)) after += ":$" + job_of[d];
    }
    const std::string var = "job" + std::string(number);
    submit << var << "=$(submit " << (after.empty() ? "" : "--dependency=afterok" + after + " ")
           << "jobs/" << file << ")\n"
           << "printf '%s\\t%s\\n' \"$" << var << "\" " << shell_quote(stage.id)
           << " >> submitted.tsv\n";
    job_of[stage.id] = var;
  }
  // The last job: every stage is done by then, so `run` only rewrites the manifest and the report.
  write_script(dir / "report.sh",
               job_script("kdpipe:report", "report-%j.out", options,
                          {options.kdpipe.string(), "run", study_file.string(), "--out",
                           options.run_dir.string(), "--executor", "local", "--threads", threads,
                           "--device", to_string(options.device)}));
  std::string all;
  for (const auto& [id, var] : job_of) all += ":$" + var;
  submit << "report=$(submit " << (all.empty() ? "" : "--dependency=afterok" + all + " ")
         << "report.sh)\n"
         << "echo \"submitted " << jobs.stages
         << " stage jobs; the report follows as job $report\"\n";
  jobs.submit = dir / "submit.sh";
  write_script(jobs.submit, submit.str());
  return jobs;
}

}  // namespace kd
