#include "pipelines/study/run_status.h"

#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "lib/core/error.h"
#include "lib/core/file_lock.h"
#include "lib/core/files.h"
#include "lib/core/json_reader.h"
#include "pipelines/report/results_reader.h"
#include "pipelines/study/executor.h"
#include "pipelines/study/slurm.h"
#include "pipelines/study/stages.h"
#include "pipelines/study/study.h"
#include "pipelines/study/study_rounds.h"

namespace kd {

namespace fs = std::filesystem;

namespace {

// A file of the run by its path in it; an empty path (read as missing) when a link leads it out
// of the run: status shows nothing of files outside the run directory.
fs::path own_file(const fs::path& run_dir, const std::string& relative) {
  try {
    return inside(run_dir, relative, relative);
  } catch (const Error&) {
    return {};
  }
}

// The stage's own record, or null when it has none or it is unreadable.
nlohmann::json stage_record(const fs::path& dir) {
  try {
    return nlohmann::json::parse(read_text(dir / "stage.json"));
  } catch (const std::exception&) {
    return nullptr;
  }
}

// ", resumable after epoch k of n" when the stage's folder holds a training checkpoint
// (lib/train/checkpoint.h: resume.json beside resume.pt); "" otherwise.
std::string resumable(const fs::path& run_dir, const std::string& id) {
  const fs::path summary = own_file(run_dir, id + "/resume.json");
  if (summary.empty()) return "";
  try {
    const nlohmann::json doc = nlohmann::json::parse(read_text(summary));
    return ", resumable after epoch " + std::to_string(doc.at("epochs_done").get<int64_t>()) +
           " of " + std::to_string(doc.at("epochs").get<int64_t>());
  } catch (const std::exception&) {
    return "";
  }
}

std::string headline(const Stage& stage, const fs::path& run_dir) {
  const fs::path output = own_file(run_dir, stage.output);
  try {
    if (stage.kind == StageKind::cache) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.1f MB cache",
                    static_cast<double>(fs::file_size(output)) / 1e6);
      return buf;
    }
    // Through the one reader of results: what the report would read.
    const double accuracy = stage.kind == StageKind::teach
                                ? read_teacher_metrics(output, stage.id).result.test_accuracy
                                : read_student_metrics(output, stage.id).test_accuracy;
    char buf[64];
    std::snprintf(buf, sizeof buf, "test accuracy %.4f", accuracy);
    return buf;
  } catch (const std::exception&) {
    return "";
  }
}

}  // namespace

RunStatus read_run_status(const fs::path& run_dir) {
  const fs::path study_file = run_dir / "study.ini";
  check<StorageError>(fs::is_regular_file(study_file), run_dir.string(),
                      ": not a run directory (it has no study.ini, which `kdpipe run` writes, nor "
                      "judge.args, which "
                      "`kdpipe judge` writes)");
  const Study study = load_study(study_file);
  return read_run_status(run_dir, study.name, plan_with_rounds(study, run_dir));
}

RunStatus read_run_status(const fs::path& run_dir, const std::string& name,
                          const std::vector<Stage>& stages) {
  RunStatus out;
  out.run_dir = run_dir;
  out.study = name;
  out.run_pid = lock_holder(run_dir / "run.lock");
  const auto jobs = submitted_jobs(run_dir);
  out.slurm = !jobs.empty();
  const auto queue = out.slurm ? queue_states() : std::nullopt;
  out.squeue = queue.has_value();

  std::map<std::string, StageStatusKind> state_of;
  for (const Stage& stage : stages) {
    StageStatus s;
    s.id = stage.id;
    s.kind = stage.kind;
    const fs::path dir = run_dir / stage.id;
    const nlohmann::json record =
        own_file(run_dir, stage.id + "/stage.json").empty() ? nullptr : stage_record(dir);
    const std::string recorded = record.is_object() ? record.value("state", "") : "";
    if (record.is_object() && record.contains("seconds") && record["seconds"].is_number()) {
      s.seconds = record["seconds"].get<double>();
    }
    if (const auto job = jobs.find(stage.id); job != jobs.end()) {
      s.job = job->second;
      if (queue && queue->count(s.job)) s.queue_state = queue->at(s.job);
    }
    const std::string reason = pending_reason(stage, run_dir);
    if (reason.empty()) {
      s.state = StageStatusKind::done;
      s.detail = headline(stage, run_dir);
    } else if (recorded == "running" && lock_holder(dir / "stage.lock") != 0) {
      s.state = StageStatusKind::running;
      s.progress = read_progress(own_file(run_dir, stage.id + "/progress.json"));
    } else if (s.queue_state.rfind("RUNNING", 0) == 0) {
      s.state = StageStatusKind::running;  // on another node: its lock is not visible here
      s.progress = read_progress(own_file(run_dir, stage.id + "/progress.json"));
    } else if (!s.queue_state.empty()) {
      s.state = StageStatusKind::queued;
      s.detail = "job " + s.job + " " + s.queue_state;
    } else if (recorded == "running") {
      s.state = StageStatusKind::interrupted;
      s.detail = "started " + record.value("started", std::string("?")) +
                 "; its process is gone (the next kdpipe run resumes it" +
                 resumable(run_dir, stage.id) + ")";
    } else if (recorded == "failed") {
      s.state = StageStatusKind::failed;
      s.detail = last_line(own_file(run_dir, stage.id + "/stage.log"));
      if (const std::string r = resumable(run_dir, stage.id); !r.empty())
        s.detail += " (" + r.substr(2) + ")";
    } else {
      s.state = StageStatusKind::pending;
      s.detail = reason;
      if (const std::string r = resumable(run_dir, stage.id); !r.empty())
        s.detail += " (" + r.substr(2) + ")";
    }
    if (s.state == StageStatusKind::pending || s.state == StageStatusKind::queued) {
      for (const std::string& d : stage.deps) {
        const auto known = state_of.find(d);  // stages come in dependency order
        const StageStatusKind ds =
            known == state_of.end() ? StageStatusKind::pending : known->second;
        if (ds == StageStatusKind::failed || ds == StageStatusKind::blocked) {
          s.state = StageStatusKind::blocked;
          s.detail = d + " failed";
          if (ds == StageStatusKind::blocked) s.detail = d + " is blocked";
          break;
        }
      }
    }
    state_of[s.id] = s.state;
    out.stages.push_back(std::move(s));
  }
  return out;
}

}  // namespace kd
