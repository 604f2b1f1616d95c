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
#include <optional>

#include "lib/core/child_process.h"
#include "lib/core/dependency_runner.h"
#include "lib/core/error.h"
#include "lib/core/file_lock.h"
#include "lib/core/files.h"
#include "lib/core/json_reader.h"
#include "lib/core/runtime.h"
#include "lib/core/stage_progress.h"
#include "lib/core/work_ledger.h"

namespace kd {

namespace fs = std::filesystem;

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
  if (!fs::exists(run_dir / stage.output)) return "its output " + stage.output + " is missing";
  // A stage killed while the disk filled, or a hand edit, can leave a damaged metrics file.
  if (fs::path(stage.output).extension() == ".json") {
    try {
      JsonDocument{run_dir / stage.output};
    } catch (const StorageError&) {
      return "its output " + stage.output + " is damaged (not valid JSON)";
    }
  }
  return "";
}

std::vector<StageOutcome> execute_stages(const std::vector<Stage>& stages,
                                         const ExecuteOptions& options,
                                         const std::function<void(const std::string&)>& log) {
  check<ConfigError>(options.jobs >= 1, "--jobs: expected at least 1, got ", options.jobs);
  const fs::path& run_dir = options.run_dir;
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < stages.size(); ++i) index[stages[i].id] = i;
  std::vector<StageOutcome> outcomes(stages.size());
  for (std::size_t i = 0; i < stages.size(); ++i) {
    outcomes[i].id = stages[i].id;
    outcomes[i].reason = pending_reason(stages[i], run_dir);
    outcomes[i].state = outcomes[i].reason.empty() ? StageState::done : StageState::pending;
  }
  if (options.dry_run) return outcomes;
  // One whole run of a run directory at a time: a second `kdpipe run` would race the first for
  // every stage and rewrite its manifest. Cluster jobs (one stage each, no manifest) take only
  // their stage's lock.
  std::optional<FileLock> run_lock;
  if (options.write_manifest) {
    ensure_directory(run_dir);
    run_lock.emplace(run_dir / "run.lock");
    check<Error>(run_lock->held(), run_dir.string(),
                 ": another kdpipe run is running this study now (it holds ",
                 (run_dir / "run.lock").string(), "); nothing was done");
  }

  const int cores = options.threads > 0 ? options.threads : available_cores();
  const int threads_each = std::max(1, cores / options.jobs);
  std::atomic<int> ran{0};
  std::mutex mutex;  // guards outcomes and the manifest
  std::size_t finished = 0;

  auto write_manifest = [&] {  // called with `mutex` held
    if (!options.write_manifest) return;
    nlohmann::json list = nlohmann::json::array();
    for (std::size_t i = 0; i < stages.size(); ++i) {
      list.push_back({{"id", stages[i].id},
                      {"kind", to_string(stages[i].kind)},
                      {"deps", stages[i].deps},
                      {"input_hash", stages[i].input_hash},
                      {"output", stages[i].output},
                      {"state", to_string(outcomes[i].state)},
                      {"ran", outcomes[i].ran},
                      {"seconds", outcomes[i].seconds}});
    }
    const nlohmann::json manifest = {
        {"kdpipe_version", version()}, {"updated", utc_timestamp()}, {"stages", list}};
    // A manifest that cannot be written (a full disk) must not stop the stages' bookkeeping: the
    // stages' own records stay authoritative, and the next successful write catches up.
    try {
      write_text_atomically(run_dir / "manifest.json", manifest.dump(2) + "\n");
    } catch (const Error& e) {
      log(std::string("warning: ") + e.what());
    }
  };
  {
    std::lock_guard<std::mutex> lock(mutex);
    write_manifest();
  }
  auto finish = [&](std::size_t i, const std::string& line) {  // called with `mutex` held
    if (options.on_state) options.on_state(stages[i].id, outcomes[i].state);
    ++finished;
    log("[" + std::to_string(finished) + "/" + std::to_string(stages.size()) + "] " + line);
    write_manifest();
  };

  auto run_stage = [&](std::size_t i) {
    const Stage& stage = stages[i];
    StageOutcome& out = outcomes[i];
    {
      std::lock_guard<std::mutex> lock(mutex);
      for (const std::string& d : stage.deps) {
        const StageState s = outcomes[index.at(d)].state;
        if (s == StageState::failed || s == StageState::blocked) {
          out.state = StageState::blocked;
          out.reason = d + " did not finish";
        }
      }
      if (out.state == StageState::done) {
        finish(i, "skip " + stage.id);
        return;
      }
      if (out.state == StageState::blocked) {
        finish(i, "blocked " + stage.id + " (" + out.reason + ")");
        return;
      }
      out.state = StageState::running;
      if (options.on_state) options.on_state(stage.id, StageState::running);
      write_manifest();
    }
    // A stage that cannot even start (its folder, its record, the child process) fails like one
    // whose process failed: its dependants are blocked and the manifest stays complete.
    try {
      const fs::path dir = run_dir / stage.id;
      ensure_directory(dir);
      const FileLock stage_lock(dir / "stage.lock");
      if (!stage_lock.held()) {
        std::lock_guard<std::mutex> lock(mutex);
        out.state = StageState::failed;
        out.reason = "another kdpipe process is running it now (it holds " +
                     (dir / "stage.lock").string() + ")";
        finish(i, "FAILED " + stage.id + ": " + out.reason);
        return;
      }
      if (pending_reason(stage, run_dir).empty()) {  // another process finished it meanwhile
        std::lock_guard<std::mutex> lock(mutex);
        out.state = StageState::done;
        out.reason.clear();
        finish(i, "skip " + stage.id + " (finished meanwhile by another kdpipe process)");
        return;
      }
      std::vector<std::string> args = stage.args;
      args.insert(args.end(), {"--out", stage.out, "--threads", std::to_string(threads_each),
                               "--device", to_string(options.device)});
      const nlohmann::json record = {{"id", stage.id},
                                     {"kind", to_string(stage.kind)},
                                     {"input_hash", stage.input_hash},
                                     {"deps", stage.deps},
                                     {"command", args},
                                     {"started", utc_timestamp()}};
      nlohmann::json running = record;
      running["state"] = to_string(StageState::running);
      write_text_atomically(dir / "stage.json", running.dump(2) + "\n");
      const auto start = std::chrono::steady_clock::now();
      std::vector<std::string> argv = {fs::absolute(options.kdpipe).string()};
      argv.insert(argv.end(), args.begin(), args.end());
      const fs::path progress = dir / "progress.json", work = dir / "work.json";
      std::error_code ignored;
      fs::remove(progress, ignored);  // an earlier run's
      fs::remove(work, ignored);
      const int status = run_child(argv, run_dir, dir / "stage.log",
                                   {std::string(kProgressFileVariable) + "=" + progress.string(),
                                    std::string(kWorkFileVariable) + "=" + work.string()});
      // Other workers read every outcome when they write the manifest: set it under the mutex.
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const bool ok = status == 0 && fs::exists(run_dir / stage.output);
      nlohmann::json final_record = record;
      final_record["state"] = to_string(ok ? StageState::done : StageState::failed);
      final_record["seconds"] = seconds;
      final_record["exit_status"] = status;
      write_text_atomically(dir / "stage.json", final_record.dump(2) + "\n");
      {
        std::lock_guard<std::mutex> lock(mutex);
        out.state = ok ? StageState::done : StageState::failed;
        out.ran = ok;
        out.seconds = seconds;
        if (!ok) {
          out.reason = "exit status " + std::to_string(status) + ": " +
                       last_line(dir / "stage.log") + " (log: " + (dir / "stage.log").string() +
                       ")";
        }
        char secs[32];
        std::snprintf(secs, sizeof secs, "%.1f", seconds);
        finish(i, (ok ? "ran  " : "FAILED ") + stage.id + " in " + secs + " s" +
                      (ok ? "" : ": " + out.reason));
      }
    } catch (const std::exception& e) {
      std::lock_guard<std::mutex> lock(mutex);
      out.state = StageState::failed;
      out.reason = e.what();
      finish(i, "FAILED " + stage.id + ": " + out.reason);
      return;
    }
    if (++ran == options.kill_after_stages) std::raise(SIGKILL);
  };

  std::vector<std::vector<std::size_t>> deps(stages.size());
  for (std::size_t i = 0; i < stages.size(); ++i) {
    for (const std::string& d : stages[i].deps) deps[i].push_back(index.at(d));
  }
  run_in_dependency_order(deps, options.jobs, run_stage);
  return outcomes;
}

}  // namespace kd
