#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <iterator>
#include <set>
#include <sstream>
#include <tuple>

#include "lib/core/child_process.h"
#include "lib/core/compute.h"
#include "lib/core/error.h"
#include "lib/core/files.h"
#include "lib/core/names.h"
#include "lib/core/runtime.h"
#include "lib/core/words.h"
#include "lib/models/zoo.h"
#include "pipelines/cli/commands.h"
#include "pipelines/cli/options.h"
#include "pipelines/report/report_writers.h"
#include "pipelines/report/summary.h"
#include "pipelines/study/executor.h"
#include "pipelines/study/live_view.h"
#include "pipelines/study/slurm.h"
#include "pipelines/study/stages.h"
#include "pipelines/study/study.h"
#include "pipelines/study/study_rounds.h"

namespace kd::cli {

namespace fs = std::filesystem;

namespace {

// A stage's line may quote its log: shown, never obeyed by the terminal.
void print_line(const std::string& line) { std::cout << printable(line) << std::endl; }

// Live progress on a terminal that can redraw; plain lines in a pipe, a file or a dumb terminal.
bool live_view_wanted(bool plain) {
  const char* term = std::getenv("TERM");
  return !plain && ::isatty(::fileno(stderr)) && term && std::string(term) != "dumb";
}

}  // namespace

// `kdpipe run --only ID`: one stage, as a cluster job runs it. Its dependencies must be done.
int run_one_stage(const std::vector<Stage>& stages, const std::string& id, ExecuteOptions options) {
  const auto it =
      std::find_if(stages.begin(), stages.end(), [&](const Stage& s) { return s.id == id; });
  check<ConfigError>(it != stages.end(), "--only: the study has no stage '", id, "' (",
                     stages.size(), " stages; kdpipe run STUDY --dry-run lists them)");
  for (const Stage& s : stages) {
    if (std::find(it->deps.begin(), it->deps.end(), s.id) == it->deps.end()) continue;
    const std::string reason = pending_reason(s, options.run_dir);
    check<Error>(reason.empty(), "--only ", id, ": it reads ", s.id, ", which is not done (",
                 reason, ")");
  }
  Stage stage = *it;
  stage.deps.clear();  // checked above; the other stages are not this process's to run
  options.jobs = 1;
  options.write_manifest = false;  // other jobs are running the other stages
  const StageOutcome outcome = execute_stages({stage}, options, print_line).front();
  return outcome.state == StageState::done ? 0 : 1;
}

namespace {

int submit_to_slurm(const std::vector<Stage>& stages, const ExecuteOptions& options,
                    const Study& study, const std::vector<std::string>& sbatch, bool submit) {
  const SlurmJobs jobs = write_slurm_jobs(stages, options, options.run_dir / "study.ini", sbatch);
  if (jobs.stages == 0) {
    std::cout << "all " << stages.size() << " stages are done: nothing to submit ("
              << "kdpipe run " << study.file.string() << " --executor local rebuilds the report)\n";
    return 0;
  }
  std::cout << "wrote " << jobs.stages << " SLURM job scripts (and report.sh, after them) in "
            << (options.run_dir / "slurm").string() << "\n";
  if (!submit) {
    std::cout << "submit them with: bash " << shell_quote(jobs.submit.string()) << "\n";
    return 0;
  }
  const std::string said = submit_slurm_jobs(jobs, options.run_dir);
  std::cout << said << "\nkdpipe status " << options.run_dir.string()
            << " shows where each stage stands\n";
  return 0;
}

// Every architecture the study trains, built once on its data's shape: a model that cannot take
// the data or does not fit in memory is refused now (--dry-run too), not in its stage.
void check_models(const Study& study) {
  const DatasetInfo info = describe_dataset(study.data);
  const InputShape input = info.input();
  std::vector<std::tuple<std::string, std::string, ModelInit>> archs;
  if (!study.teacher_smoothing.empty())
    archs.emplace_back("teacher.arch", study.teacher_arch, study.teacher_init);
  for (const std::string& a : study.student_archs)
    archs.emplace_back("student.arch", a, study.student_init);
  for (const auto& [key, arch, init] : archs) {
    try {
      make_model(arch, input, info.classes, init);
    } catch (const ConfigError& e) {
      throw ConfigError(study.file.string() + ": " + key + ": " + e.what());
    }
  }
  // And the inputs the models take (unit: pixels in [0, 1], which feature arrays do not have).
  std::vector<std::pair<std::string, std::string>> inputs;
  if (!study.teacher_smoothing.empty()) inputs.emplace_back("teacher.input", study.teacher_input);
  if (!study.torchscript.empty())
    inputs.emplace_back("teacher.torchscript-input", study.torchscript_input);
  if (!study.student_archs.empty()) inputs.emplace_back("student.input", study.student_input);
  for (const auto& [key, value] : inputs) {
    try {
      DatasetInfo fed = info;
      apply_input_mode(fed, value);
    } catch (const ConfigError& e) {
      throw ConfigError(study.file.string() + ": " + key + ": " + e.what());
    }
  }
}

}  // namespace

int run_command(const std::vector<std::string>& args) {
  po::options_description desc("Run");
  desc.add_options()("study", po::value<std::string>(), "the study file (INI)")(
      "out", po::value<std::string>()->default_value(""),
      "run directory (default: runs/<study name>)")(
      "jobs", po::value<int>(), "stages run at once (default: the study's study.jobs)")(
      "threads", po::value<int>(),
      "cores shared by the running stages (default: the study's study.threads; 0: all); with "
      "the slurm executor, the CPUs of each job")(
      "device", po::value<std::string>(),
      "cpu, cuda or auto: where every stage runs (default: the study's study.device)")(
      "executor", po::value<std::string>(),
      "local: run the stages here; slurm: write SLURM batch jobs and the script that submits "
      "them (default: the study's study.executor)")(
      "sbatch", po::value<std::string>(),
      "extra sbatch options for every job, as one string; quotes keep a value with spaces one "
      "word (default: the study's study.sbatch)")(
      "submit", po::bool_switch(),
      "with --executor slurm: submit the jobs (sbatch) instead of only writing them")(
      "only", po::value<std::string>(),
      "run this one stage (its dependencies must be done), as a cluster job does")(
      "dry-run", po::bool_switch(), "list every stage and whether it would run; run nothing")(
      "plain", po::bool_switch(),
      "no live progress on a terminal: only the line printed as each stage ends");
  po::positional_options_description positional;
  positional.add("study", 1);
  po::variables_map vm;
  if (!parse(args, desc,
             "Usage: kdpipe run STUDY.ini [--out DIR] [--jobs N] [--executor local|slurm] "
             "[--dry-run]\n\n"
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
  // The naming policy (lib/core/names.h), before anything is planned or printed.
  check_path_text(run_dir.string(), "--out");
  check_path_text(fs::absolute(study.file).string(), "the study file");
  ExecuteOptions options;
  options.run_dir = run_dir;
  options.kdpipe = fs::read_symlink("/proc/self/exe");
  options.jobs = vm.count("jobs") ? vm["jobs"].as<int>() : study.jobs;
  options.threads = vm.count("threads") ? vm["threads"].as<int>() : study.threads;
  options.device = vm.count("device")
                       ? parse_enum<DeviceChoice>(vm["device"].as<std::string>(), "--device")
                       : study.device;
  options.dry_run = vm["dry-run"].as<bool>();
  if (const char* fault = std::getenv("KDPIPE_FAULT_KILL_AFTER_STAGES")) {
    options.kill_after_stages = std::atoi(fault);
  }
  const ExecutorKind executor =
      vm.count("executor")
          ? parse_enum<ExecutorKind>(vm["executor"].as<std::string>(), "--executor")
          : study.executor;
  check<ConfigError>(options.jobs >= 1, "--jobs: expected at least 1, got ", options.jobs);
  check<ConfigError>(options.threads >= 0, "--threads: expected 0 (all) or a positive count, got ",
                     options.threads);
  if (executor == ExecutorKind::local) thread_count(options.threads);  // CPUs of this machine
  check<ConfigError>(executor == ExecutorKind::local || !vm.count("only"),
                     "--only runs one stage here: use it with --executor local");
  check<ConfigError>(executor == ExecutorKind::local || study.max_seeds == 0, study.file.string(),
                     ": study.max-seeds: seeds added in rounds need the local executor (each "
                     "round waits for the last); with slurm list the seeds (max-seeds = 0)");
  check<ConfigError>(executor == ExecutorKind::slurm || !vm["submit"].as<bool>(),
                     "--submit sends the stages to SLURM: use it with --executor slurm");
  if (executor == ExecutorKind::local) {
    // Jobs of the slurm executor check their device where they run, not on the submitting host.
    try {
      resolve_device(to_string(options.device));
    } catch (const ConfigError& e) {
      if (vm.count("device")) throw;
      throw ConfigError(study.file.string() + ": study.device: " + e.what());
    }
  }

  // A built-in dataset's folder, where this machine's stages will read it (slurm jobs read the
  // data on their nodes): a study without its data fails now, --dry-run too, not in its first
  // stage.
  if (executor == ExecutorKind::local && dataset_kind(study.data) == DatasetKind::builtin) {
    const fs::path dir =
        study.data.data_dir().empty() ? default_data_dir(study.data.name()) : study.data.data_dir();
    check<ConfigError>(fs::is_directory(dir), study.file.string(),
                       ": data.data-dir: ", dir.string(), " is not a directory (",
                       study.data.name(), " is read from there)");
  }
  check_models(study);

  // Everything the run is told is checked before anything is written: the run directory's kind,
  // the sbatch options' quotes.
  std::error_code ec;
  check<StorageError>(!fs::exists(run_dir, ec) || fs::is_directory(run_dir, ec), "--out ",
                      run_dir.string(), " exists and is ", file_kind(run_dir), ", not a directory");
  std::vector<std::string> sbatch = study.sbatch;
  if (vm.count("sbatch")) sbatch = split_words(vm["sbatch"].as<std::string>(), "--sbatch");
  const std::vector<Stage> stages =
      study.max_seeds > 0 ? plan_with_rounds(study, run_dir) : plan_stages(study);
  if (vm.count("only")) {
    // A cluster job (or a shell inside an allocation): SLURM starts a stage's ranks.
    options.ranks_by_srun = std::getenv("SLURM_JOB_ID") != nullptr;
    return run_one_stage(stages, vm["only"].as<std::string>(), options);
  }
  // The lock comes before the first byte written: a refused run must not replace the running
  // run's study.ini.
  std::unique_ptr<FileLock> run_lock;
  if (!options.dry_run) {
    run_lock = lock_run_directory(run_dir);
    options.run_locked = true;
    write_text_atomically(run_dir / "study.ini", to_ini(study));
  }
  std::cout << "study " << study.name << ": " << stages.size() << " stages in " << run_dir.string()
            << "\n";
  if (executor == ExecutorKind::slurm && !options.dry_run) {
    return submit_to_slurm(stages, options, study, sbatch, vm["submit"].as<bool>());
  }
  // Rounds (study.max-seeds): run what the finished students call for, then look again; a study
  // without rounds, or a dry run, is one pass.
  std::vector<Stage> planned = stages;
  std::vector<StageOutcome> outcomes;
  std::set<std::string> ran_ids;
  for (int round = 1;; ++round) {
    if (live_view_wanted(options.dry_run || vm["plain"].as<bool>())) {
      LiveView view(stderr, stdout, planned, run_dir, options.jobs);
      options.on_state = [&](const std::string& id, StageState state) { view.on_state(id, state); };
      outcomes = execute_stages(planned, options,
                                [&](const std::string& line) { view.log(printable(line)); });
    } else {
      options.on_state = nullptr;
      outcomes = execute_stages(planned, options, print_line);
    }
    for (const StageOutcome& o : outcomes)
      if (o.ran) ran_ids.insert(o.id);
    const bool failed = std::any_of(outcomes.begin(), outcomes.end(), [](const StageOutcome& o) {
      return o.state == StageState::failed || o.state == StageState::blocked;
    });
    if (options.dry_run || study.max_seeds == 0 || failed) break;
    std::vector<Stage> next = plan_with_rounds(study, run_dir);
    if (next.size() == planned.size()) break;
    std::cout << "round " << round + 1 << ": " << next.size() - planned.size()
              << " more students (a seed for each comparison still open)" << std::endl;
    planned = std::move(next);
  }
  int ran = 0, skipped = 0, failed = 0, would = 0;
  for (const StageOutcome& o : outcomes) {
    if (options.dry_run) {
      std::cout << (o.state == StageState::done ? "skip  " : "run   ") << o.id
                << (o.reason.empty() ? "  (done)" : "  (" + o.reason + ")") << "\n";
    }
    const bool done = o.state == StageState::done;
    ran += done && ran_ids.count(o.id);
    skipped += done && !ran_ids.count(o.id);
    would += o.state == StageState::pending;
    failed += o.state == StageState::failed || o.state == StageState::blocked;
  }
  if (options.dry_run) {
    std::cout << would << " would run, " << skipped << " done\n";
    if (study.max_seeds > 0) {
      std::cout << "then rounds of one student seed for the verdict's open comparisons, to at "
                   "most "
                << study.max_seeds << " seeds\n";
    }
    return 0;
  }
  std::cout << ran << " ran, " << skipped << " skipped (done), " << failed << " failed\n";
  if (failed > 0) return 1;
  // The report is the run's last stage: rebuilt from the stages' metrics files every time. The
  // summary prints from the same model.
  const Report report = write_report(run_dir);
  std::cout << summarize(report);
  std::cout << "verdict:\n";
  for (const std::string& line : report.verdict) std::cout << "  " << line << "\n";
  std::cout << "report: " << (run_dir / "report" / "report.html").string() << "\n";
  return 0;
}

}  // namespace kd::cli
