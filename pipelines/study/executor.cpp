#include "pipelines/study/executor.h"

#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "lib/core/child_process.h"
#include "lib/core/dependency_runner.h"
#include "lib/core/error.h"
#include "lib/core/file_lock.h"
#include "lib/core/files.h"
#include "lib/core/json_reader.h"
#include "lib/core/memory_limit.h"
#include "lib/core/runtime.h"
#include "lib/core/stage_progress.h"
#include "lib/core/work_ledger.h"

namespace kd {

namespace fs = std::filesystem;

std::unique_ptr<FileLock> lock_run_directory(const fs::path& run_dir) {
  ensure_directory(run_dir);
  auto lock = std::make_unique<FileLock>(run_dir / "run.lock");
  check<Error>(lock->held(), run_dir.string(),
               ": another kdpipe run is running this study now (it holds ",
               (run_dir / "run.lock").string(), "); nothing was done");
  return lock;
}

std::string pending_reason(const Stage& stage, const fs::path& run_dir) {
  const fs::path record = run_dir / stage.id / "stage.json";
  if (!fs::exists(record)) return "new";
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_text(record));
  } catch (const std::exception&) {
    return "its stage.json is unreadable";
  }
  if (j.value("input_hash", "") != stage.input_hash) return "its inputs changed";
  if (j.value("state", "") != to_string(StageState::done))
    return "it did not finish (" + j.value("state", "?") + ")";
  return pending_reason_of_output(stage, run_dir);
}

std::string pending_reason_of_output(const Stage& stage, const fs::path& run_dir) {
  // A run's files are its own: an output that a link leads out of the run is not this stage's.
  try {
    inside(run_dir, stage.output, "its output");
  } catch (const Error& e) {
    return e.what();
  }
  if (!fs::exists(run_dir / stage.output)) return "its output " + stage.output + " is missing";
  // A stage killed while the disk filled, or a hand edit, can leave a damaged metrics file.
  if (fs::path(stage.output).extension() == ".json") {
    try {
      JsonDocument{run_dir / stage.output};
    } catch (const StorageError&) {
      return "its output " + stage.output + " is damaged (not valid JSON)";
    }
  }
  // A result that does not validate (test.accuracy = 5) is not a finished stage.
  if (stage.check_output) {
    try {
      stage.check_output(run_dir / stage.output);
    } catch (const Error& e) {
      return "its output does not validate (" + std::string(e.what()) + ")";
    }
  }
  return "";
}

namespace {

// One execute_stages call: the outcomes and the manifest (guarded by one mutex), and the three
// parts of a stage's run — deciding whether it runs (the state machine), running its process,
// and recording what it did.
class StageRun {
 public:
  StageRun(const std::vector<Stage>& stages, const ExecuteOptions& options,
           const std::function<void(const std::string&)>& log)
      : stages_(stages), options_(options), log_(log), outcomes_(stages.size()) {
    for (std::size_t i = 0; i < stages.size(); ++i) {
      index_[stages[i].id] = i;
      outcomes_[i].id = stages[i].id;
      outcomes_[i].reason = pending_reason(stages[i], options.run_dir);
      outcomes_[i].state = outcomes_[i].reason.empty() ? StageState::done : StageState::pending;
    }
    const int cores = options.threads > 0 ? options.threads : available_cores();
    threads_each_ = std::max(1, cores / options.jobs);
    // Stages running side by side share the memory too: each one's data get its part, less what
    // each process keeps for itself.
    if (options.jobs > 1) {
      const int64_t each = memory_limit().bytes / options.jobs;
      memory_each_mb_ = std::max<int64_t>(1, (each - std::min(kProcessReserve, each / 2)) >> 20);
    }
  }

  std::vector<StageOutcome>& outcomes() { return outcomes_; }

  std::vector<std::vector<std::size_t>> dependencies() const {
    std::vector<std::vector<std::size_t>> deps(stages_.size());
    for (std::size_t i = 0; i < stages_.size(); ++i) {
      for (const std::string& d : stages_[i].deps) deps[i].push_back(index_.at(d));
    }
    return deps;
  }

  void start() {
    std::lock_guard<std::mutex> lock(mutex_);
    write_manifest();
  }

  // A stage that cannot even start (its folder, its record, the child process) fails like one
  // whose process failed: its dependants are blocked and the manifest stays complete.
  void run(std::size_t i) {
    if (!claim(i)) return;
    try {
      launch(i);
    } catch (const std::exception& e) {
      std::lock_guard<std::mutex> lock(mutex_);
      outcomes_[i].state = StageState::failed;
      outcomes_[i].reason = e.what();
      finish(i, "FAILED " + stages_[i].id + ": " + outcomes_[i].reason);
      return;
    }
    if (++ran_ == options_.kill_after_stages) std::raise(SIGKILL);
  }

 private:
  // The state machine: done, blocked by a failed dependency, or running now (true: run it).
  bool claim(std::size_t i) {
    const Stage& stage = stages_[i];
    StageOutcome& out = outcomes_[i];
    std::lock_guard<std::mutex> lock(mutex_);
    for (const std::string& d : stage.deps) {
      const StageState s = outcomes_[index_.at(d)].state;
      if (s == StageState::failed || s == StageState::blocked) {
        out.state = StageState::blocked;
        out.reason = d + " did not finish";
      }
    }
    if (out.state == StageState::done) {
      finish(i, "skip " + stage.id);
      return false;
    }
    if (out.state == StageState::blocked) {
      finish(i, "blocked " + stage.id + " (" + out.reason + ")");
      return false;
    }
    out.state = StageState::running;
    if (options_.on_state) options_.on_state(stage.id, StageState::running);
    write_manifest();
    return true;
  }

  // Takes the stage's lock, runs its process, and records the result.
  void launch(std::size_t i) {
    const Stage& stage = stages_[i];
    const fs::path& run_dir = options_.run_dir;
    const fs::path dir = run_dir / stage.id;
    ensure_directory(dir);
    const FileLock stage_lock(dir / "stage.lock");
    if (!stage_lock.held()) {
      settle(i, StageState::failed,
             "another kdpipe process is running it now (it holds " + (dir / "stage.lock").string() +
                 ")");
      return;
    }
    if (pending_reason(stage, run_dir).empty()) {  // another process finished it meanwhile
      settle(i, StageState::done, "", " (finished meanwhile by another kdpipe process)");
      return;
    }
    std::vector<std::string> args = stage.args;
    args.insert(args.end(), {"--out", stage.out, "--threads", std::to_string(threads_each_),
                             "--device", to_string(options_.device)});
    // (teach, cache and distill read data; cache-merge, also a cache stage, reads none)
    const std::string& command = stage.args.empty() ? std::string() : stage.args[0];
    if (memory_each_mb_ > 0 && (command == "teach" || command == "cache" || command == "distill"))
      args.insert(args.end(), {"--memory", std::to_string(memory_each_mb_)});
    nlohmann::json record = {{"id", stage.id},
                             {"kind", to_string(stage.kind)},
                             {"input_hash", stage.input_hash},
                             {"deps", stage.deps},
                             {"command", args},
                             {"started", utc_timestamp()},
                             {"state", to_string(StageState::running)}};
    write_text_atomically(dir / "stage.json", record.dump(2) + "\n");
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::string> argv;
    if (options_.ranks_by_srun && stage.ranks > 1) {
      // One process (this one) holds the stage's lock; SLURM starts its ranks as one step, and
      // ends the others when one fails.
      argv = {"srun", "--ntasks=" + std::to_string(stage.ranks), "--kill-on-bad-exit=1"};
    }
    argv.push_back(fs::absolute(options_.kdpipe).string());
    argv.insert(argv.end(), args.begin(), args.end());
    const fs::path progress = dir / "progress.json", work = dir / "work.json";
    std::error_code ignored;
    fs::remove(progress, ignored);  // an earlier run's
    fs::remove(work, ignored);
    const int status = run_child(argv, run_dir, dir / "stage.log",
                                 {std::string(kProgressFileVariable) + "=" + progress.string(),
                                  std::string(kWorkFileVariable) + "=" + work.string()});
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    record_result(i, std::move(record), status, seconds);
  }

  // Exit status 0 and an output that validates: a stage whose result is out of its domain would
  // be skipped as done by every later run, and the report would fail on it.
  void record_result(std::size_t i, nlohmann::json record, int status, double seconds) {
    const Stage& stage = stages_[i];
    const fs::path dir = options_.run_dir / stage.id;
    const std::string invalid =
        status == 0 ? pending_reason_of_output(stage, options_.run_dir) : "";
    const bool ok = status == 0 && invalid.empty();
    record["state"] = to_string(ok ? StageState::done : StageState::failed);
    record["seconds"] = seconds;
    record["exit_status"] = status;
    write_text_atomically(dir / "stage.json", record.dump(2) + "\n");
    // Other workers read every outcome when they write the manifest: set it under the mutex.
    std::lock_guard<std::mutex> lock(mutex_);
    StageOutcome& out = outcomes_[i];
    out.state = ok ? StageState::done : StageState::failed;
    out.ran = ok;
    out.seconds = seconds;
    if (!ok) {
      out.reason = status == 0 ? invalid
                               : "exit status " + std::to_string(status) + ": " +
                                     last_line(dir / "stage.log") +
                                     " (log: " + (dir / "stage.log").string() + ")";
    }
    char secs[32];
    std::snprintf(secs, sizeof secs, "%.1f", seconds);
    finish(i, (ok ? "ran  " : "FAILED ") + stage.id + " in " + secs + " s" +
                  (ok ? "" : ": " + out.reason));
  }

  // A stage decided without running its process: failed with `reason`, or found done.
  void settle(std::size_t i, StageState state, const std::string& reason,
              const std::string& note = "") {
    std::lock_guard<std::mutex> lock(mutex_);
    outcomes_[i].state = state;
    outcomes_[i].reason = reason;
    finish(i, state == StageState::done ? "skip " + stages_[i].id + note
                                        : "FAILED " + stages_[i].id + ": " + reason);
  }

  void finish(std::size_t i, const std::string& line) {  // called with `mutex_` held
    if (options_.on_state) options_.on_state(stages_[i].id, outcomes_[i].state);
    ++finished_;
    log_("[" + std::to_string(finished_) + "/" + std::to_string(stages_.size()) + "] " + line);
    write_manifest();
  }

  void write_manifest() {  // called with `mutex_` held
    if (!options_.write_manifest) return;
    nlohmann::json list = nlohmann::json::array();
    for (std::size_t i = 0; i < stages_.size(); ++i) {
      list.push_back({{"id", stages_[i].id},
                      {"kind", to_string(stages_[i].kind)},
                      {"deps", stages_[i].deps},
                      {"input_hash", stages_[i].input_hash},
                      {"output", stages_[i].output},
                      {"state", to_string(outcomes_[i].state)},
                      {"ran", outcomes_[i].ran},
                      {"seconds", outcomes_[i].seconds}});
    }
    const nlohmann::json manifest = {
        {"kdpipe_version", version()}, {"updated", utc_timestamp()}, {"stages", list}};
    // A manifest that cannot be written (a full disk) must not stop the stages' bookkeeping: the
    // stages' own records stay authoritative, and the next successful write catches up.
    try {
      write_text_atomically(options_.run_dir / "manifest.json", manifest.dump(2) + "\n");
    } catch (const Error& e) {
      log_(std::string("warning: ") + e.what());
    }
  }

  const std::vector<Stage>& stages_;
  const ExecuteOptions& options_;
  const std::function<void(const std::string&)>& log_;
  std::map<std::string, std::size_t> index_;
  std::vector<StageOutcome> outcomes_;
  int threads_each_ = 1;
  int64_t memory_each_mb_ = 0;  ///< --memory of each stage (0: its own default)
  std::atomic<int> ran_{0};
  std::mutex mutex_;  // guards outcomes_, finished_ and the manifest
  std::size_t finished_ = 0;
};

}  // namespace

std::vector<StageOutcome> execute_stages(const std::vector<Stage>& stages,
                                         const ExecuteOptions& options,
                                         const std::function<void(const std::string&)>& log) {
  check<ConfigError>(options.jobs >= 1, "--jobs: expected at least 1, got ", options.jobs);
  StageRun run(stages, options, log);
  if (options.dry_run) return std::move(run.outcomes());
  // One whole run of a run directory at a time: a second `kdpipe run` would race the first for
  // every stage and rewrite its manifest. Cluster jobs (one stage each, no manifest) take only
  // their stage's lock.
  std::unique_ptr<FileLock> run_lock;
  if (options.write_manifest && !options.run_locked) run_lock = lock_run_directory(options.run_dir);
  run.start();
  // A stage of N ranks takes N of the jobs.
  std::vector<int> slots;
  for (const Stage& s : stages) slots.push_back(s.ranks);
  run_in_dependency_order(
      run.dependencies(), options.jobs, [&](std::size_t i) { run.run(i); }, slots);
  return std::move(run.outcomes());
}

}  // namespace kd
