#include <iostream>

#include "lib/core/error.h"
#include "lib/core/files.h"
#include "lib/core/runtime.h"
#include "pipelines/cli/commands.h"
#include "pipelines/cli/options.h"
#include "pipelines/report/report_writers.h"
#include "pipelines/study/executor.h"
#include "pipelines/study/summary.h"

namespace kd::cli {

namespace fs = std::filesystem;

int run_command(const std::vector<std::string>& args) {
  po::options_description desc("Run");
  desc.add_options()("study", po::value<std::string>(), "the study file (INI)")(
      "out", po::value<std::string>()->default_value(""),
      "run directory (default: runs/<study name>)")(
      "jobs", po::value<int>(), "stages run at once (default: the study's study.jobs)")(
      "threads", po::value<int>(),
      "cores shared by the running stages (default: the study's study.threads; 0: all)")(
      "device", po::value<std::string>(),
      "cpu, cuda or auto: where every stage runs (default: the study's study.device)")(
      "dry-run", po::bool_switch(), "list every stage and whether it would run; run nothing");
  po::positional_options_description positional;
  positional.add("study", 1);
  po::variables_map vm;
  if (!parse(args, desc,
             "Usage: kdpipe run STUDY.ini [--out DIR] [--jobs N] [--dry-run]\n\n"
             "Runs a whole study: teachers, their logit caches, distilled students and baselines,\n"
             "in dependency order, independent stages at once. A rerun skips every stage whose\n"
             "inputs have not changed and finishes what an interruption left unfinished.",
             vm, &positional)) {
    return 0;
  }
  check<ConfigError>(vm.count("study") > 0, "run: name a study file");
  const Study study = load_study(vm["study"].as<std::string>());
  const fs::path run_dir =
      fs::absolute(vm["out"].as<std::string>().empty() ? fs::path("runs") / study.name
                                                       : fs::path(vm["out"].as<std::string>()));
  ExecuteOptions options;
  options.run_dir = run_dir;
  options.kdpipe = fs::read_symlink("/proc/self/exe");
  options.jobs = vm.count("jobs") ? vm["jobs"].as<int>() : study.jobs;
  options.threads = vm.count("threads") ? vm["threads"].as<int>() : study.threads;
  options.device = vm.count("device") ? vm["device"].as<std::string>() : study.device;
  options.dry_run = vm["dry-run"].as<bool>();
  try {
    resolve_device(options.device);
  } catch (const ConfigError& e) {
    if (vm.count("device")) throw;
    throw ConfigError(study.file.string() + ": study.device: " + e.what());
  }
  check<ConfigError>(options.jobs >= 1, "--jobs: expected at least 1, got ", options.jobs);

  const std::vector<Stage> stages = plan_stages(study);
  if (!options.dry_run) {
    ensure_directory(run_dir);
    write_text_atomically(run_dir / "study.ini", to_ini(study));
  }
  std::cout << "study " << study.name << ": " << stages.size() << " stages in " << run_dir.string()
            << "\n";
  const auto outcomes = execute_stages(
      stages, options, [](const std::string& line) { std::cout << line << std::endl; });
  int ran = 0, skipped = 0, failed = 0, would = 0;
  for (const StageOutcome& o : outcomes) {
    if (options.dry_run) {
      std::cout << (o.state == "skipped" ? "skip  " : "run   ") << o.id
                << (o.reason.empty() ? "  (done)" : "  (" + o.reason + ")") << "\n";
    }
    ran += o.state == "ran";
    skipped += o.state == "skipped";
    would += o.state == "would-run";
    failed += o.state == "failed" || o.state == "blocked";
  }
  if (options.dry_run) {
    std::cout << would << " would run, " << skipped << " done\n";
    return 0;
  }
  std::cout << ran << " ran, " << skipped << " skipped (done), " << failed << " failed\n";
  if (failed > 0) return 1;
  std::cout << summarize(stages, run_dir);
  // The report is the run's last stage: rebuilt from the stages' metrics files every time.
  const nlohmann::json report = write_report(run_dir);
  std::cout << "verdict:\n";
  for (const auto& line : report["verdict"]) std::cout << "  " << line.get<std::string>() << "\n";
  std::cout << "report: " << (run_dir / "report" / "report.html").string() << "\n";
  return 0;
}

}  // namespace kd::cli
