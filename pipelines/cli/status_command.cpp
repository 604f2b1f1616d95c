#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "lib/core/error.h"
#include "lib/core/names.h"
#include "pipelines/cli/commands.h"
#include "pipelines/cli/options.h"
#include "pipelines/study/live_view.h"
#include "pipelines/study/run_status.h"

namespace kd::cli {

namespace fs = std::filesystem;

namespace {

nlohmann::json to_json(const RunStatus& run) {
  nlohmann::json stages = nlohmann::json::array();
  for (const StageStatus& s : run.stages) {
    nlohmann::json j = {
        {"id", s.id},
        {"kind", to_string(s.kind)},
        {"state", to_string(s.state)},
        {"detail", s.detail},
        {"seconds", s.seconds < 0 ? nlohmann::json() : nlohmann::json(s.seconds)},
        {"job", s.job.empty() ? nlohmann::json() : nlohmann::json(s.job)},
        {"queue_state", s.queue_state.empty() ? nlohmann::json() : nlohmann::json(s.queue_state)}};
    if (s.progress) {
      const StageProgress& p = *s.progress;
      j["progress"] = {
          {"task", p.task},
          {"fraction", p.fraction},
          {"items_per_second", p.items_per_second},
          {"elapsed_seconds", p.elapsed_seconds},
          {"eta_seconds", p.eta_seconds < 0 ? nlohmann::json() : nlohmann::json(p.eta_seconds)}};
    } else {
      j["progress"] = nullptr;
    }
    stages.push_back(j);
  }
  return {{"run_dir", run.run_dir.string()},
          {"study", run.study},
          {"run_pid", run.run_pid == 0 ? nlohmann::json() : nlohmann::json(run.run_pid)},
          {"slurm", run.slurm},
          {"squeue", run.squeue},
          {"stages", stages}};
}

std::string progress_text(const StageProgress& p) {
  std::string out = p.task + "  " + std::to_string(static_cast<int>(100 * p.fraction)) + "%";
  if (p.items_per_second > 0)
    out += "  " + std::to_string(std::lround(p.items_per_second)) + " img/s";
  if (p.eta_seconds >= 0) out += "  ETA " + clock_text(p.eta_seconds);
  return out;
}

void print_table(const RunStatus& run) {
  std::cout << "study " << run.study << " in " << run.run_dir.string() << ": ";
  if (run.run_pid != 0) {
    std::cout << "kdpipe run is working on it (pid " << run.run_pid << ")\n";
  } else if (run.slurm) {
    std::cout << "stages submitted to SLURM"
              << (run.squeue ? "" : " (squeue did not answer: queue states unknown)") << "\n";
  } else {
    std::cout << "no kdpipe run is working on it now\n";
  }
  std::map<StageStatusKind, int> counts;
  std::size_t width = 5;
  for (const StageStatus& s : run.stages) width = std::max(width, s.id.size());
  std::printf("%-*s  %-11s  %8s  %s\n", static_cast<int>(width), "STAGE", "STATE", "TIME",
              run.slurm ? "JOB  DETAIL" : "DETAIL");
  for (const StageStatus& s : run.stages) {
    ++counts[s.state];
    std::string time = s.seconds >= 0 ? clock_text(s.seconds) : "";
    std::string detail = s.progress ? progress_text(*s.progress) : s.detail;
    if (s.state == StageStatusKind::running && s.progress)
      time = clock_text(s.progress->elapsed_seconds);
    if (run.slurm) detail = (s.job.empty() ? "-" : s.job) + "  " + detail;
    // A log's last line is whatever the stage printed: shown, never obeyed by the terminal.
    std::printf("%-*s  %-11s  %8s  %s\n", static_cast<int>(width), s.id.c_str(),
                to_string(s.state).c_str(), time.c_str(), printable(detail).c_str());
  }
  std::cout << run.stages.size() << " stages:";
  const char* sep = " ";
  for (const auto& [state, n] : counts) {
    std::cout << sep << n << " " << to_string(state);
    sep = ", ";
  }
  std::cout << std::endl;
}

}  // namespace

int status_command(const std::vector<std::string>& args) {
  po::options_description desc("Status");
  desc.add_options()("run-dir", po::value<std::string>(),
                     "a run directory of `kdpipe run` or `kdpipe judge`")(
      "json", po::bool_switch(), "print the status as JSON, for scripts");
  po::positional_options_description positional;
  positional.add("run-dir", 1);
  po::variables_map vm;
  if (!parse(args, desc,
             "Usage: kdpipe status RUN_DIR [--json]\n\n"
             "Shows where every stage of a study or judge run stands: pending, queued (SLURM), "
             "running\n"
             "(with its progress), interrupted (its run was killed), done (time, test accuracy),\n"
             "failed (the log's last line) or blocked. Reads only: safe while a run is going on.",
             vm, &positional)) {
    return 0;
  }
  // An empty name is no name: it would be the working directory.
  check<ConfigError>(vm.count("run-dir") > 0 && !vm["run-dir"].as<std::string>().empty(),
                     "status: name a run directory");
  const fs::path run_dir = vm["run-dir"].as<std::string>();
  // A judge's run directory: its stages replayed from judge.args and the finished students.
  const RunStatus run = is_judge_run(run_dir)
                            ? read_run_status(run_dir, "judge", judge_run_stages(run_dir))
                            : read_run_status(run_dir);
  if (vm["json"].as<bool>()) {
    // Log lines may hold bytes that are not UTF-8: replaced (U+FFFD), not a failed dump.
    std::cout << to_json(run).dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
              << std::endl;
  } else {
    print_table(run);
  }
  return 0;
}

}  // namespace kd::cli
