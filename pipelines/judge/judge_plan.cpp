#include "pipelines/judge/judge_plan.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>
#include <sstream>

#include "lib/core/compute.h"
#include "lib/core/error.h"
#include "lib/core/number_text.h"
#include "lib/models/zoo.h"
#include "pipelines/judge/judge_evidence.h"
#include "pipelines/study/executor.h"
#include "storage/teacher_model.h"

namespace kd {

namespace fs = std::filesystem;

namespace {

// Paths a stage reads are relative to the run directory, where it runs: the user's relative
// paths (to where judge was started) are made absolute first.
DataOptions absolute_data(DataOptions data) {
  if (dataset_kind(data) != DatasetKind::builtin) data.name(fs::absolute(data.name()).string());
  if (!data.data_dir().empty()) data.data_dir(fs::absolute(data.data_dir()));
  return data;
}

std::string absolute_spec(const std::string& spec) {
  const std::string prefix = "torchscript:";
  if (spec.rfind(prefix, 0) != 0) return spec;
  return prefix + fs::absolute(spec.substr(prefix.size())).string();
}

template <typename F>
double seconds_of(int repeats, F&& f) {
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < repeats; ++i) f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / repeats;
}

std::string numbers_text(const std::vector<double>& v) {
  std::string out;
  for (double x : v) out += (out.empty() ? "" : " ") + exact_text(x);
  return out;
}

std::string minutes(double seconds) {
  std::ostringstream o;
  o.precision(seconds < 600 ? 2 : 3);
  o << seconds / 60 << " min";
  return o.str();
}

}  // namespace

Judge::Judge(JudgeSettings settings) : s_(std::move(settings)) {
  check<ConfigError>(s_.plan.first_look >= 2, "--first-seeds: expected at least 2, got ",
                     s_.plan.first_look);
  check<ConfigError>(s_.plan.max_pairs >= s_.plan.first_look && s_.plan.max_pairs <= 1000,
                     "--max-seeds: expected from --first-seeds (", s_.plan.first_look,
                     ") to 1000, got ", s_.plan.max_pairs);
  check<ConfigError>(s_.train_subset >= 0,
                     "--train-subset: expected 0 (all) or a positive count, "
                     "got ",
                     s_.train_subset);
  s_.plan.validate();
  std::sort(s_.temperatures.begin(), s_.temperatures.end());
  check<ConfigError>(!s_.temperatures.empty() &&
                         std::set<double>(s_.temperatures.begin(), s_.temperatures.end()).size() ==
                             s_.temperatures.size() &&
                         s_.temperatures.front() > 0 && std::isfinite(s_.temperatures.back()),
                     "--temperatures: expected different positive temperatures");
  check<ConfigError>(s_.data.val_size() > 0,
                     "--val-size: judge chooses each teacher's temperature on validation "
                     "accuracy: hold out some examples (--val-size N > 0)");
  teachers_ = judged_teachers(s_.teachers);

  recipe_.file = "kdpipe judge";
  recipe_.name = "judge";
  recipe_.data = absolute_data(s_.data);
  recipe_.student_archs = {absolute_spec(s_.student)};
  recipe_.student_input = s_.student_input;
  recipe_.torchscript_input = s_.teacher_input;
  recipe_.alphas = {1};
  recipe_.temperatures = s_.temperatures;
  recipe_.views = s_.views;
  recipe_.train_subset = s_.train_subset;
  recipe_.student_train =
      TrainOptions(recipe_.student_train).epochs(s_.epochs).batch_size(s_.batch_size).lr(s_.lr);
  recipe_.student_train.validate();
  check<ConfigError>(s_.views >= 1, "--views: expected at least 1, got ", s_.views);

  // The data, the student and every teacher, checked now rather than in their stages: what
  // cannot be used is a bad option (exit status 2), named by its option.
  const DatasetInfo info = describe_dataset(recipe_.data);
  const auto as_option = [](const std::string& option, const auto& f) {
    try {
      f();
    } catch (const ConfigError& e) {
      throw ConfigError(option + ": " + e.what());
    } catch (const Error& e) {
      throw ConfigError(option + ": " + e.what());
    } catch (const c10::Error& e) {
      const std::string what = e.what();
      throw ConfigError(option + ": " + what.substr(0, what.find('\n')));
    }
  };
  DatasetInfo fed = info, seen = info;
  as_option("--student-input", [&] { apply_input_mode(fed, s_.student_input); });
  as_option("--teacher-input", [&] { apply_input_mode(seen, s_.teacher_input); });
  as_option("--student " + s_.student,
            [&] { make_model(recipe_.student_archs[0], info.input(), info.classes); });
  for (const NamedTeacher& t : teachers_) {
    as_option("--teacher " + t.given, [&] {
      const TeacherModel model = t.teacher.torchscript.empty()
                                     ? TeacherModel::from_checkpoint(t.teacher.directory)
                                     : TeacherModel::from_torchscript(t.teacher.torchscript);
      model.check_compatible(seen);
    });
  }

  for (const NamedTeacher& t : teachers_) {
    plan_.teachers.push_back(t.teacher);
    plan_.students.emplace_back();
    for (double temperature : s_.temperatures) {
      JudgedStudents group{temperature, {}};
      for (int64_t seed = 0; seed < s_.plan.first_look; ++seed)
        group.seeds.push_back(static_cast<std::uint64_t>(seed));
      plan_.students.back().push_back(group);
    }
  }
  for (int64_t seed = 0; seed < s_.plan.first_look; ++seed)
    plan_.baseline_seeds.push_back(static_cast<std::uint64_t>(seed));
  plan_judge_stages(recipe_, plan_);  // every stage's options checked as its command will
}

JudgeSettings Judge::for_jobs() const {
  JudgeSettings out = s_;
  out.data = recipe_.data;
  out.student = recipe_.student_archs.at(0);
  out.teachers.clear();
  for (const NamedTeacher& t : teachers_) {
    const fs::path& path =
        t.teacher.torchscript.empty() ? t.teacher.directory : t.teacher.torchscript;
    out.teachers.push_back(path.string() + (t.smoothing ? "=" + exact_text(*t.smoothing) : ""));
  }
  return out;
}

std::vector<std::string> Judge::teacher_names() const {
  std::vector<std::string> out;
  for (const NamedTeacher& t : teachers_) out.push_back(t.given);
  return out;
}

void Judge::name_teachers(const std::vector<std::string>& names) {
  if (names.size() != teachers_.size()) return;
  for (std::size_t i = 0; i < names.size(); ++i) teachers_[i].given = names[i];
}

std::vector<Stage> Judge::stages() const { return plan_judge_stages(recipe_, plan_); }

bool Judge::next_round(const fs::path& run_dir, bool out_of_time) {
  const Judgement j = judge(read_evidence(stages(), run_dir, teachers_), s_.temperatures, s_.plan);
  check<Error>(!j.temperature.empty(), "judge: the first round's students are not all done in ",
               run_dir.string());
  if (!j.open()) return (stop_ = JudgeStop::decided), false;
  if (j.looked >= s_.plan.max_pairs) return (stop_ = JudgeStop::max_seeds), false;
  if (out_of_time) return (stop_ = JudgeStop::time_limit), false;
  const auto seed = static_cast<std::uint64_t>(j.looked);  // seeds 0 … looked-1 are in
  for (std::size_t i : j.teachers_needed()) {
    for (JudgedStudents& group : plan_.students[i]) {
      if (group.temperature == j.temperature[i]) group.seeds.push_back(seed);
    }
  }
  if (j.alone_needed()) plan_.baseline_seeds.push_back(seed);
  ++round_;
  return true;
}

void Judge::replay(const fs::path& run_dir) {
  for (;;) {
    for (const Stage& s : stages()) {
      if (!pending_reason(s, run_dir).empty()) {
        stop_ = JudgeStop::unfinished;
        return;
      }
    }
    if (!next_round(run_dir, false)) return;
  }
}

JudgeAnswer Judge::answer(const fs::path& run_dir) const {
  JudgeAnswer a;
  a.student = s_.student;
  a.teachers = teachers_;
  a.plan = s_.plan;
  const JudgeEvidence evidence = read_evidence(stages(), run_dir, teachers_);
  a.judgement = judge(evidence, s_.temperatures, s_.plan);
  a.evidence = evidence;
  a.stop = stop_;
  if (!a.judgement.temperature.empty())
    a.diagnostics = teacher_diagnostics(teachers_, run_dir, a.judgement, evidence);
  a.notes = identical_teachers(teachers_);
  return a;
}

std::vector<std::string> Judge::plan_text(const fs::path& run_dir, int jobs) const {
  const auto k = static_cast<int64_t>(teachers_.size());
  const auto grid = static_cast<int64_t>(s_.temperatures.size());
  const int64_t first = s_.plan.first_look, most = s_.plan.max_pairs;
  const int64_t first_round = k * grid * first + first;  // students, distilled and alone
  const int64_t later_rounds = most - first;
  const int64_t students_at_most = first_round + later_rounds * (k + 1);
  int64_t evaluations = 0;
  for (const NamedTeacher& t : teachers_) evaluations += t.teacher.torchscript.empty() ? 0 : 1;
  const int64_t teacher_stages = evaluations + k;

  // Time: one student step and one teacher batch, timed here with a stage's share of the cores.
  // (A training split too large to hold stays in its file: only its size is needed here.)
  const Dataset data = load_dataset(DataOptions(recipe_.data).stream(true));
  const DatasetInfo& info = data.info;
  const int64_t train_all = data.train_size();
  const int64_t train = s_.train_subset > 0 ? std::min(s_.train_subset, train_all) : train_all;
  const int cores = thread_count(0);
  torch::set_num_threads(std::max(1, cores / std::max(1, jobs)));
  Classifier student = make_model(recipe_.student_archs[0], info.input(), info.classes);
  torch::optim::SGD sgd(student->parameters(), 0.01);
  const torch::Tensor x = torch::randn(info.input().batch(s_.batch_size));
  const torch::Tensor y = torch::randint(info.classes, {s_.batch_size}, torch::kInt64);
  const auto step = [&] {
    sgd.zero_grad();
    torch::nn::functional::cross_entropy(student->forward(x), y).backward();
    sgd.step();
  };
  step();
  const double step_s = seconds_of(5, step);
  const double steps = static_cast<double>(s_.epochs) *
                       std::ceil(static_cast<double>(train) / static_cast<double>(s_.batch_size));
  constexpr double kStart = 3;  // starting a stage process and reading the data: an allowance
  const double student_s = steps * step_s + kStart;
  double teacher_s = 0;
  const torch::Tensor images = torch::randn(info.input().batch(256));
  for (const NamedTeacher& t : teachers_) {
    const TeacherModel model = t.teacher.torchscript.empty()
                                   ? TeacherModel::from_checkpoint(t.teacher.directory)
                                   : TeacherModel::from_torchscript(t.teacher.torchscript);
    const TeacherReplica forward = model.replica(torch::kCPU);
    torch::NoGradGuard no_grad;
    forward(images);
    const double batch_s = seconds_of(2, [&] { forward(images); });
    teacher_s = std::max(
        teacher_s, batch_s * static_cast<double>(train_all * (s_.views + 1)) / 256.0 + 2 * kStart);
  }
  const auto waves = [&](int64_t n) { return std::ceil(static_cast<double>(n) / jobs); };
  const double worst = waves(k) * teacher_s + waves(first_round) * student_s +
                       static_cast<double>(later_rounds) * waves(k + 1) * student_s;

  std::vector<std::string> out;
  out.push_back("judge: " + std::to_string(k) + " teacher" + (k == 1 ? "" : "s") + ", student " +
                s_.student + ", data " + info.name + " (" + std::to_string(train) +
                " training examples per student)");
  for (const NamedTeacher& t : teachers_)
    out.push_back("  teacher " + t.given + " → " + t.teacher.name);
  const auto count = [](int64_t n, const std::string& one, const std::string& many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
  };
  out.push_back("round 1: " +
                (evaluations > 0 ? count(evaluations, "evaluation", "evaluations") +
                                       " of a TorchScript teacher, "
                                 : std::string()) +
                count(k, "cache", "caches") + " of teacher logits, " +
                count(k * grid * first, "distilled student", "distilled students") + " (" +
                std::to_string(first) + " seeds at T = " + numbers_text(s_.temperatures) + "), " +
                count(first, "student", "students") + " alone");
  if (later_rounds > 0) {
    out.push_back("then one seed per round for the comparisons still open, to at most " +
                  std::to_string(most) + " seeds: at worst " +
                  count(teacher_stages + students_at_most, "stage", "stages") + " (" +
                  count(students_at_most, "student training", "student trainings") + ") in " +
                  count(1 + later_rounds, "round", "rounds"));
  } else {
    out.push_back("one round only (--first-seeds = --max-seeds): " +
                  count(teacher_stages + students_at_most, "stage", "stages"));
  }
  int64_t done = 0;
  const std::vector<Stage> planned = stages();
  for (const Stage& st : planned) done += pending_reason(st, run_dir).empty();
  if (done > 0)
    out.push_back("done already in " + run_dir.string() + ": " + std::to_string(done) + " of " +
                  std::to_string(planned.size()) + " first-round stages");
  std::ostringstream step_text;
  step_text.precision(3);
  step_text << step_s * 1000;
  out.push_back("worst-case time with " + std::to_string(jobs) + " stage" + (jobs == 1 ? "" : "s") +
                " at once: about " + minutes(worst) + " (a student step takes " + step_text.str() +
                " ms here, " + std::to_string(static_cast<int64_t>(steps)) +
                " steps per student; plus " + exact_text(kStart) + " s per stage to start it)");
  return out;
}

}  // namespace kd
