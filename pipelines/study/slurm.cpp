#include "pipelines/study/slurm.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include "lib/core/child_process.h"
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
                       const ExecuteOptions& options, const SlurmCommands& commands,
                       const std::vector<std::string>& command, int ranks = 1) {
  std::ostringstream o;
  o << "#!/usr/bin/env bash\n"
    << "# Written by " << commands.written_by << ".\n"
    << "#SBATCH --job-name=" << name << "\n"
    << "#SBATCH --output=" << log << "\n";
  // A stage of several ranks: that many tasks, which its `run --only` starts with srun.
  if (ranks > 1) o << "#SBATCH --ntasks=" << ranks << "\n";
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
                           const SlurmCommands& commands,
                           const std::vector<std::string>& sbatch_args) {
  const fs::path dir = options.run_dir / "slurm";
  fs::remove_all(dir / "jobs");  // an earlier submission's scripts
  ensure_directory(dir / "jobs");
  std::ostringstream submit;
  submit << "#!/usr/bin/env bash\n"
         << "# Written by " << commands.written_by << ": submits the pending stages as SLURM\n"
         << "# jobs, each after the jobs of the stages it reads"
         << (commands.last.empty() ? "" : ", then report.sh after them all") << ".\n"
         << "# Job logs: ../STAGE/slurm-JOB.out.\n"
         << "set -euo pipefail\n"
         << "cd \"$(dirname \"$0\")\"\n"
         << "extra=(" << quoted_words(sbatch_args) << ")\n"
         << "submit() {\n"
         << "  sbatch --parsable --kill-on-invalid-dep=yes \"${extra[@]}\" \"$@\" | cut -d';' -f1\n"
         << "}\n"
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
                            commands, commands.stage(stage), stage.ranks));
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
  std::string all;
  for (const auto& [id, var] : job_of) all += ":$" + var;
  if (!commands.last.empty()) {
    write_script(dir / "report.sh",
                 job_script("kdpipe:report", "report-%j.out", options, commands, commands.last));
    submit << "report=$(submit " << (all.empty() ? "" : "--dependency=afterok" + all + " ")
           << "report.sh)\n"
           << "echo \"submitted " << jobs.stages
           << " stage jobs; the report follows as job $report\"\n";
  } else {
    submit << "echo \"submitted " << jobs.stages << " stage jobs\"\n";
  }
  jobs.submit = dir / "submit.sh";
  write_script(jobs.submit, submit.str());
  return jobs;
}

SlurmJobs write_slurm_jobs(const std::vector<Stage>& stages, const ExecuteOptions& options,
                           const fs::path& study_file,
                           const std::vector<std::string>& sbatch_args) {
  // Every stage's own --threads: the job's CPUs (0: all the CPUs the job is given).
  const std::vector<std::string> common = {options.kdpipe.string(), "run", study_file.string(),
                                           "--out", options.run_dir.string()};
  const std::vector<std::string> where = {"--executor", "local",
                                          "--threads",  std::to_string(options.threads),
                                          "--device",   to_string(options.device)};
  SlurmCommands commands;
  commands.written_by = "kdpipe run --executor slurm";
  commands.stage = [&](const Stage& stage) {
    std::vector<std::string> c = common;
    c.insert(c.end(), {"--only", stage.id});
    c.insert(c.end(), where.begin(), where.end());
    return c;
  };
  // The last job: every stage is done by then, so `run` only rewrites the manifest and the report.
  commands.last = common;
  commands.last.insert(commands.last.end(), where.begin(), where.end());
  return write_slurm_jobs(stages, options, commands, sbatch_args);
}

std::string submit_slurm_jobs(const SlurmJobs& jobs, const fs::path& run_dir) {
  const fs::path log = run_dir / "slurm" / "submit.log";
  std::error_code ignored;
  fs::remove(log, ignored);
  const int status = run_child({"bash", jobs.submit.string()}, run_dir / "slurm", log);
  std::string said = read_text(log);
  while (!said.empty() && said.back() == '\n') said.pop_back();
  check<Error>(status == 0, "sbatch: ", jobs.submit.string(), " failed (exit status ", status,
               "): ", said.substr(said.find_last_of('\n') + 1), " (log: ", log.string(), ")");
  return said;
}

std::map<std::string, std::string> submitted_jobs(const fs::path& run_dir) {
  std::map<std::string, std::string> jobs;
  std::ifstream in(run_dir / "slurm" / "submitted.tsv");
  std::string job, stage;
  while (in >> job >> stage) jobs[stage] = job;
  return jobs;
}

std::optional<std::map<std::string, std::string>> queue_states() {
  const std::string command =
      "squeue --noheader --format='%i %T %r' --user=" + std::to_string(::getuid()) + " 2>/dev/null";
  std::FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return std::nullopt;
  std::string text;
  char buf[4096];
  while (std::fgets(buf, sizeof buf, pipe)) text += buf;
  if (::pclose(pipe) != 0) return std::nullopt;
  std::map<std::string, std::string> states;
  std::istringstream lines(text);
  std::string id, state, reason;
  while (lines >> id >> state >> reason)
    states[id] = reason == "None" ? state : state + " (" + reason + ")";
  return states;
}

}  // namespace kd
