// `kdpipe judge`: is this a good teacher for my student? Plans the smallest study that answers,
// runs it in rounds of one student seed through the study executor, and stops each comparison
// once the sequential rule decides it (pipelines/judge).
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>

#include "lib/core/error.h"
#include "lib/core/files.h"
#include "lib/core/names.h"
#include "lib/core/number_text.h"
#include "lib/core/runtime.h"
#include "lib/core/words.h"
#include "pipelines/cli/commands.h"
#include "pipelines/cli/judge_options.h"
#include "pipelines/cli/options.h"
#include "pipelines/judge/judge_evidence.h"
#include "pipelines/judge/judge_plan.h"
#include "pipelines/report/judge_report.h"
#include "pipelines/study/executor.h"
#include "pipelines/study/slurm.h"
#include "pipelines/study/slurm_wait.h"

namespace kd::cli {

namespace fs = std::filesystem;

namespace {

po::options_description judge_table() {
  const JudgeSettings d;
  po::options_description o("Judge");
  o.add_options()("teacher", po::value<std::vector<std::string>>()->composing(),
                  "a teacher: a TorchScript file or a kdpipe teacher directory, with =EPS to "
                  "state the label smoothing it was trained with (recorded in judge.json; a "
                  "directory's own record otherwise); a path that ends in =NUMBER needs its =EPS "
                  "too (repeat --teacher for each teacher)")(
      "student", po::value<std::string>(), "the student: a zoo spec or torchscript:FILE.pt")(
      "precision", po::value<double>()->default_value(d.plan.precision, "0.3"),
      "accuracy points: a smaller difference counts as none (equivalent)")(
      "max-seeds", po::value<int64_t>()->default_value(d.plan.max_pairs),
      "student seeds at most per teacher: undecided comparisons stay undecided then")(
      "first-seeds", po::value<int64_t>()->default_value(d.plan.first_look),
      "student seeds of the first round, at every temperature")(
      "temperatures",
      po::value<std::vector<double>>()->multitoken()->default_value(d.temperatures, "2 4"),
      "the first round's temperature grid; each teacher's T is then chosen on validation")(
      "epochs", po::value<int64_t>()->default_value(d.epochs), "student epochs")(
      "batch-size", po::value<int64_t>()->default_value(d.batch_size), "student batch size")(
      "lr", po::value<double>()->default_value(d.lr, "0.05"), "student learning rate")(
      "train-subset", po::value<int64_t>()->default_value(d.train_subset),
      "students learn from the first N training examples (0: all)")(
      "views", po::value<int64_t>()->default_value(d.views),
      "augmented views of every example in the teachers' caches")(
      "teacher-input", po::value<std::string>()->default_value(d.teacher_input),
      "the images the teachers take: normalized (the dataset's mean and std) or unit ([0, 1])")(
      "student-input", po::value<std::string>()->default_value(d.student_input),
      "the images a torchscript:FILE student takes: normalized or unit")(
      "time-limit", po::value<std::string>()->default_value(""),
      "stop starting rounds after this long: 90s, 30m, 2h (a bare number: minutes); checked "
      "between rounds; the budget is --max-seeds")(
      "out", po::value<std::string>()->default_value("runs/judge"), "run directory")(
      "executor", po::value<std::string>()->default_value("local"),
      "local: run the stages here; slurm: submit each round's stages as SLURM jobs (sbatch) "
      "and wait for them (squeue)")(
      "sbatch", po::value<std::string>()->default_value(""),
      "with --executor slurm: extra sbatch options for every job, as one string")(
      "poll", po::value<double>()->default_value(10),
      "with --executor slurm: seconds between looks at the queue")(
      "only", po::value<std::string>(),
      "run this one stage of the plan (the rounds before it must be done), as a cluster job "
      "does")("jobs", po::value<int>()->default_value(d.jobs), "stages run at once")(
      "threads", po::value<int>()->default_value(0), "cores shared by the running stages (0: all)")(
      "device", po::value<std::string>()->default_value("cpu"), "cpu, cuda or auto")(
      "dry-run", po::bool_switch(), "print the plan and its worst-case size and time; run nothing")(
      "json", po::bool_switch(), "print the decisions as JSON (progress goes to stderr)");
  return o;
}

// "30m", "2h", "90s", "45" (minutes) → seconds; 0 for "".
double time_limit_seconds(const std::string& text) {
  if (text.empty()) return 0;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  const std::string unit = end;
  const double scale = unit == "s" ? 1 : unit == "m" || unit.empty() ? 60 : unit == "h" ? 3600 : -1;
  check<ConfigError>(end != text.c_str() && v > 0 && scale > 0,
                     "--time-limit: expected a "
                     "duration such as 90s, 30m or 2h, got '",
                     text, "'");
  return v * scale;
}

}  // namespace

JudgeSettings settings_from(const po::variables_map& vm) {
  check<ConfigError>(vm.count("teacher") > 0, "judge: name a teacher (--teacher FILE.pt)");
  check<ConfigError>(vm.count("student") > 0, "judge: name the student (--student SPEC)");
  JudgeSettings s;
  s.teachers = vm["teacher"].as<std::vector<std::string>>();
  s.student = vm["student"].as<std::string>();
  s.data = data_options_from(vm);
  s.plan.precision = vm["precision"].as<double>();
  s.plan.max_pairs = vm["max-seeds"].as<int64_t>();
  s.plan.first_look = vm["first-seeds"].as<int64_t>();
  s.temperatures = vm["temperatures"].as<std::vector<double>>();
  s.epochs = vm["epochs"].as<int64_t>();
  s.batch_size = vm["batch-size"].as<int64_t>();
  s.lr = vm["lr"].as<double>();
  s.train_subset = vm["train-subset"].as<int64_t>();
  s.views = vm["views"].as<int64_t>();
  s.teacher_input = vm["teacher-input"].as<std::string>();
  s.student_input = vm["student-input"].as<std::string>();
  s.time_limit_s = time_limit_seconds(vm["time-limit"].as<std::string>());
  s.jobs = vm["jobs"].as<int>();
  return s;
}

namespace {

// The settings as judge's own options, paths absolute: the command line of a cluster job, which
// plans the same stages from them (parsed back by settings_from).
std::vector<std::string> judge_argv(const JudgeSettings& s) {
  std::vector<std::string> a;
  for (const std::string& t : s.teachers) a.insert(a.end(), {"--teacher", t});
  a.insert(a.end(), {"--student", s.student});
  const std::vector<std::string> data = data_argv(s.data);
  a.insert(a.end(), data.begin(), data.end());
  a.insert(a.end(), {"--precision", exact_text(s.plan.precision), "--max-seeds",
                     std::to_string(s.plan.max_pairs), "--first-seeds",
                     std::to_string(s.plan.first_look), "--temperatures"});
  for (double t : s.temperatures) a.push_back(exact_text(t));
  a.insert(a.end(), {"--epochs", std::to_string(s.epochs), "--batch-size",
                     std::to_string(s.batch_size), "--lr", exact_text(s.lr), "--train-subset",
                     std::to_string(s.train_subset), "--views", std::to_string(s.views),
                     "--teacher-input", s.teacher_input, "--student-input", s.student_input});
  return a;
}

// `--only ID`: the rounds replayed from the finished students until one plans the stage.
int run_planned_stage(Judge& judge, const std::string& id, const ExecuteOptions& options) {
  judge.replay(options.run_dir);
  const std::vector<Stage> stages = judge.stages();
  check<ConfigError>(
      std::any_of(stages.begin(), stages.end(), [&](const Stage& s) { return s.id == id; }),
      "--only ", id, ": judge has planned no such stage (round ", judge.round(), " has ",
      stages.size(), ")");
  return run_one_stage(stages, id, options);
}

}  // namespace

po::options_description judge_options() {
  po::options_description desc;
  desc.add(judge_table()).add(data_options());
  return desc;
}

namespace {

// Error naming a stage that did not finish, its reason and, where it has one, its log.
void check_finished(const StageOutcome& o, const fs::path& run_dir) {
  const fs::path log = run_dir / o.id / "stage.log";
  std::error_code ec;
  check<Error>(o.state == StageState::done, "stage ", o.id, " ", to_string(o.state), ": ", o.reason,
               fs::exists(log, ec) ? "; its log: " + log.string() : std::string(),
               ". Fix its cause and run judge again (finished stages are kept)");
}

// One round on SLURM: its pending stages submitted, then waited for until every job has left the
// queue. Jobs an earlier judge of this run submitted and still queued are waited for first, not
// submitted again. Error naming the first stage that failed.
void run_round_on_slurm(const Judge& judge, const std::vector<Stage>& stages,
                        const ExecuteOptions& options, const std::vector<std::string>& sbatch,
                        double poll, const std::function<void(const std::string&)>& log) {
  std::vector<std::string> common = {options.kdpipe.string(), "judge"};
  const std::vector<std::string> settings = judge_argv(judge.for_jobs());
  common.insert(common.end(), settings.begin(), settings.end());
  common.insert(common.end(),
                {"--out", options.run_dir.string(), "--executor", "local", "--threads",
                 std::to_string(options.threads), "--device", to_string(options.device)});
  SlurmCommands commands;
  commands.written_by =
      "kdpipe judge --executor slurm (round " + std::to_string(judge.round()) + ")";
  commands.stage = [&](const Stage& stage) {
    std::vector<std::string> c = common;
    c.insert(c.end(), {"--only", stage.id});
    return c;
  };
  SlurmWait wait;
  wait.poll_seconds = poll;
  int queued = 0;
  if (const auto queue = queue_states()) {
    for (const auto& [stage, job] : submitted_jobs(options.run_dir))
      queued += queue->count(job) > 0;
  }
  if (queued > 0) {  // a judge killed while it waited: its jobs went on
    log("waiting for " + std::to_string(queued) +
        " jobs an earlier judge of this run submitted (still queued or running)");
    wait_for_slurm_jobs(stages, options.run_dir, wait, log);  // what failed is submitted again
  }
  const SlurmJobs jobs = write_slurm_jobs(stages, options, commands, sbatch);
  if (jobs.stages == 0) return;
  log(submit_slurm_jobs(jobs, options.run_dir) + " (round " + std::to_string(judge.round()) +
      "; kdpipe status " + shell_quote(options.run_dir.string()) + " shows them)");
  for (const StageOutcome& o : wait_for_slurm_jobs(stages, options.run_dir, wait, log))
    check_finished(o, options.run_dir);
}

void print_answer(const JudgeAnswer& answer, bool json) {
  if (json) {
    std::cout << answer_json(answer).dump(2) << std::endl;
    return;
  }
  std::cout << "answer:\n";
  for (const std::string& line : answer_lines(answer)) std::cout << "  " << line << "\n";
  const auto table = diagnostics_table(answer);
  if (!table.empty()) std::cout << "teachers, read from their logits (a table, not a claim):\n";
  for (const std::string& line : table) std::cout << "  " << line << "\n";
}

}  // namespace

int judge_command(const std::vector<std::string>& args) {
  const po::options_description desc = judge_options();
  po::variables_map vm;
  if (!parse(args, desc,
             "Usage: kdpipe judge --teacher A.pt [--teacher B.pt ...] --student SPEC\n"
             "                    [--dataset D] [--precision 0.3] [--max-seeds 10] [--out DIR]\n\n"
             "Is this a good teacher for my student? Caches each teacher's logits once, distils\n"
             "the student from each (first at every temperature of the grid, then at the one\n"
             "validation chose) and trains it alone, one student seed per round, until every\n"
             "comparison is decided: differs, equivalent within ±precision, or undecided at\n"
             "--max-seeds. Exit status: 0 decided, 3 undecided, 1 failed, 2 bad options.\n"
             "A killed judge, run again, resumes and reaches the same decisions.",
             vm)) {
    return 0;
  }
  const JudgeSettings settings = settings_from(vm);
  const bool json = vm["json"].as<bool>();
  std::ostream& progress = json ? std::cerr : std::cout;
  check<ConfigError>(!vm["out"].as<std::string>().empty(), "--out: name a run directory");
  const fs::path run_dir = fs::absolute(vm["out"].as<std::string>());
  check_path_text(run_dir.string(), "--out");
  Judge judge(settings);  // checks everything it is told, and plans the first round

  ExecuteOptions options;
  options.run_dir = run_dir;
  options.kdpipe = fs::read_symlink("/proc/self/exe");
  options.jobs = settings.jobs;
  options.threads = vm["threads"].as<int>();
  options.device = parse_enum<DeviceChoice>(vm["device"].as<std::string>(), "--device");
  check<ConfigError>(options.jobs >= 1, "--jobs: expected at least 1, got ", options.jobs);
  check<ConfigError>(options.threads >= 0, "--threads: expected 0 (all) or a count, got ",
                     options.threads);
  thread_count(options.threads);
  resolve_device(to_string(options.device));
  if (const char* fault = std::getenv("KDPIPE_FAULT_KILL_AFTER_STAGES"))
    options.kill_after_stages = std::atoi(fault);

  const auto executor = parse_enum<ExecutorKind>(vm["executor"].as<std::string>(), "--executor");
  const std::vector<std::string> sbatch = split_words(vm["sbatch"].as<std::string>(), "--sbatch");
  const double poll = vm["poll"].as<double>();
  check<ConfigError>(poll > 0 && poll <= 3600, "--poll: expected seconds in (0, 3600], got ", poll);
  for (const char* option : {"poll", "sbatch"}) {
    check<ConfigError>(executor == ExecutorKind::slurm || vm[option].defaulted(), "--", option,
                       " is for the SLURM executor: use it with --executor slurm");
  }
  check<ConfigError>(executor == ExecutorKind::local || !vm.count("only"),
                     "--only runs one stage here: use it with --executor local");
  if (vm.count("only")) return run_planned_stage(judge, vm["only"].as<std::string>(), options);

  if (vm["dry-run"].as<bool>()) {
    for (const std::string& line : judge.plan_text(run_dir, options.jobs)) progress << line << "\n";
    return 0;
  }
  std::error_code ec;
  check<ConfigError>(!fs::exists(run_dir, ec) || fs::is_directory(run_dir, ec), "--out ",
                     run_dir.string(), " exists and is ", file_kind(run_dir), ", not a directory");
  const auto lock = lock_run_directory(run_dir);
  options.run_locked = true;
  // What `kdpipe status` and the cluster jobs plan the same stages from.
  write_text_atomically(
      run_dir / "judge.args",
      nlohmann::json{{"args", judge_argv(judge.for_jobs())}, {"names", judge.teacher_names()}}.dump(
          1) +
          "\n");
  const auto started = std::chrono::steady_clock::now();
  const auto log = [&](const std::string& line) { progress << printable(line) << std::endl; };
  for (;;) {
    const std::vector<Stage> stages = judge.stages();
    progress << "round " << judge.round() << ": " << stages.size() << " stages planned\n";
    const bool slurm = executor == ExecutorKind::slurm;
    if (slurm) run_round_on_slurm(judge, stages, options, sbatch, poll, log);
    // Locally: runs the round. After SLURM: finds it done (said already), writes the manifest.
    const auto quiet = [&](const std::string& line) {
      if (!slurm || line.find("] skip ") == std::string::npos) log(line);
    };
    for (const StageOutcome& o : execute_stages(stages, options, quiet)) check_finished(o, run_dir);
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const bool out_of_time = settings.time_limit_s > 0 && elapsed >= settings.time_limit_s;
    if (!judge.next_round(run_dir, out_of_time)) break;
  }
  const JudgeAnswer answer = judge.answer(run_dir);
  write_text_atomically(run_dir / "judge.json", answer_json(answer).dump(2) + "\n");
  const fs::path report = write_judge_report(answer, run_dir);
  print_answer(answer, json);
  if (!json) {
    progress << "decisions: " << (run_dir / "judge.json").string() << "\n"
             << "report: " << (report / "report.html").string() << "\n";
  }
  return answer.decided() ? 0 : 3;
}

}  // namespace kd::cli
