#include "pipelines/study/slurm_wait.h"

#include <chrono>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "lib/core/error.h"
#include "lib/core/files.h"
#include "pipelines/study/slurm.h"

namespace kd {

namespace fs = std::filesystem;

namespace {

std::string recorded_state(const fs::path& stage_dir) {
  try {
    return nlohmann::json::parse(read_text(stage_dir / "stage.json")).value("state", "");
  } catch (const std::exception&) {
    return "";
  }
}

// "; see DIR/slurm-JOB.out" when the job left a log (a job cancelled before it ran has none).
std::string job_log(const fs::path& stage_dir, const std::string& job) {
  const fs::path log = stage_dir / ("slurm-" + job + ".out");
  std::error_code ec;
  return fs::exists(log, ec) ? "; see " + log.string() : "";
}

}  // namespace

std::vector<StageOutcome> wait_for_slurm_jobs(const std::vector<Stage>& stages,
                                              const fs::path& run_dir, const SlurmWait& wait,
                                              const std::function<void(const std::string&)>& log) {
  const std::map<std::string, std::string> job_of = submitted_jobs(run_dir);
  std::vector<StageOutcome> out(stages.size());
  std::map<std::string, StageState> ended;  // stage id → done, failed or blocked
  std::set<std::string> gone_once;  // left the queue unfinished at the last look: one more look
  std::size_t waiting = 0;
  for (std::size_t i = 0; i < stages.size(); ++i) {
    out[i].id = stages[i].id;
    if (job_of.count(stages[i].id)) {
      ++waiting;  // even when done already: its job's end is told when it leaves the queue
    } else if (pending_reason(stages[i], run_dir).empty()) {
      out[i].state = StageState::done;
      ended[stages[i].id] = StageState::done;
    }
  }
  const auto started = std::chrono::steady_clock::now();
  auto answered = started;
  while (waiting > 0) {
    std::this_thread::sleep_for(std::chrono::duration<double>(wait.poll_seconds));
    const auto now = std::chrono::steady_clock::now();
    // The queue first, then the folders: a job that ends between the two looks is seen done.
    const auto queue = queue_states();
    if (!queue) {
      check<Error>(
          std::chrono::duration<double>(now - answered).count() < wait.squeue_patience_seconds,
          "squeue has not answered for ", wait.squeue_patience_seconds,
          " s: the jobs may still run (kdpipe status ", run_dir.string(),
          " shows them); run judge again to go on waiting");
      continue;
    }
    answered = now;
    for (std::size_t i = 0; i < stages.size(); ++i) {
      const Stage& stage = stages[i];
      StageOutcome& o = out[i];
      const auto job = job_of.find(stage.id);
      if (job == job_of.end() || ended.count(stage.id) || queue->count(job->second)) continue;
      o.seconds = std::chrono::duration<double>(now - started).count();
      if (pending_reason(stage, run_dir).empty()) {
        o.state = StageState::done;
        o.ran = true;
        log("done  " + stage.id + " (job " + job->second + ")");
      } else {
        std::string blocker;
        for (const std::string& d : stage.deps) {
          const auto e = ended.find(d);
          if (e != ended.end() && e->second != StageState::done) blocker = d;
        }
        const fs::path dir = run_dir / stage.id;
        if (blocker.empty() && recorded_state(dir) != "failed" && !gone_once.count(stage.id)) {
          gone_once.insert(stage.id);  // its files may lag its job on a shared file system
          continue;
        }
        o.state = blocker.empty() ? StageState::failed : StageState::blocked;
        o.reason = !blocker.empty() ? blocker + " failed"
                   : recorded_state(dir) == "failed"
                       ? last_line(dir / "stage.log")
                       : "its job " + job->second +
                             " left the queue without finishing it (cancelled, or ended by SLURM: "
                             "out of time or memory" +
                             job_log(dir, job->second) + ")";
        log(std::string(blocker.empty() ? "FAIL  " : "block ") + stage.id + " (job " + job->second +
            "): " + o.reason);
      }
      ended[stage.id] = o.state;
      --waiting;
    }
  }
  return out;
}

}  // namespace kd
