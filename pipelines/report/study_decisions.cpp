#include "pipelines/report/study_decisions.h"

#include <algorithm>
#include <map>
#include <sstream>

namespace kd {

std::optional<StudyDecisions> study_decisions(const Study& study,
                                              const std::vector<StudentResult>& students) {
  if (study.max_seeds == 0 || study.student_archs.empty()) return std::nullopt;
  StudyDecisions d;
  d.arch = study.student_archs[0];
  d.alpha = study.alphas.at(0);
  d.plan.first_look = static_cast<int64_t>(study.student_seeds.size());
  d.plan.max_pairs = study.max_seeds;
  d.plan.precision = study.precision;

  std::map<double, std::map<double, SeedScores>> by_eps;  // ε → T → seed
  std::map<StudentGroupKey, SeedScores> alone;
  for (const StudentResult& s : students) {
    if (s.key.arch != d.arch || !s.val_accuracy) continue;
    const StudentScore score{100 * *s.val_accuracy, 100 * s.test_accuracy, s.target_gamma};
    const auto seed = static_cast<std::uint64_t>(s.seed);
    if (s.key.source == StudentSource::distill) {
      if (s.key.alpha.value_or(1) != d.alpha) continue;
      by_eps[*s.key.teacher_smoothing][*s.key.temperature][seed] = score;
    } else {
      alone[s.key][seed] = score;
    }
  }
  if (by_eps.empty() || alone.empty()) return std::nullopt;
  JudgeEvidence evidence;
  for (auto& [eps, by_t] : by_eps) {
    d.teachers.push_back(eps);
    evidence.distilled.push_back(std::move(by_t));
  }
  // The student alone: the baseline of the best mean validation accuracy over the first round.
  double best = -1;
  for (const auto& [key, seeds] : alone) {
    double sum = 0;
    for (int64_t i = 0; i < d.plan.first_look; ++i) {
      const auto it = seeds.find(static_cast<std::uint64_t>(i));
      sum += it == seeds.end() ? -1e9 : it->second.val;
    }
    if (sum > best) best = sum, d.alone = key;
  }
  evidence.alone = alone[d.alone];
  std::vector<double> grid = study.student_temperatures;
  std::sort(grid.begin(), grid.end());
  d.judgement = judge(evidence, grid, d.plan);
  const Judgement& j = d.judgement;
  if (j.temperature.empty() || !j.open() || j.looked >= d.plan.max_pairs) return d;
  const auto seed = static_cast<std::uint64_t>(j.looked);
  for (std::size_t i : j.teachers_needed()) {
    RoundStudent r;
    r.teacher_smoothing = d.teachers[i];
    r.temperature = j.temperature[i];
    r.seed = seed;
    d.next.push_back(r);
  }
  if (j.alone_needed()) {
    RoundStudent r;
    r.baseline = d.alone.source == StudentSource::hard ? Baseline::hard : Baseline::smooth;
    r.smoothing = d.alone.smoothing.value_or(0);
    r.seed = seed;
    d.next.push_back(r);
  }
  return d;
}

std::optional<JudgeAnswer> study_answer(const Study& study,
                                        const std::vector<StudentResult>& students) {
  const auto d = study_decisions(study, students);
  if (!d) return std::nullopt;
  JudgeAnswer a;
  a.student = d->arch;
  a.plan = d->plan;
  a.judgement = d->judgement;
  a.stop = a.judgement.temperature.empty() || a.judgement.open() ? JudgeStop::max_seeds
                                                                 : JudgeStop::decided;
  for (double eps : d->teachers) {
    std::ostringstream name;
    name << "the teacher with label smoothing " << eps;
    NamedTeacher t;
    t.given = name.str();
    t.teacher.smoothing = eps;
    t.smoothing = eps;
    a.teachers.push_back(t);
  }
  std::ostringstream alone;
  alone << "The student alone is the baseline of the best validation accuracy in the first round: ";
  if (d->alone.source == StudentSource::hard) {
    alone << "hard labels";
  } else {
    alone << "label smoothing " << d->alone.smoothing.value_or(0);
  }
  a.notes.push_back(alone.str());
  a.notes.push_back(
      "Each teacher is one trained model (one training seed): these comparisons are about these "
      "teacher models, over student seeds, not about label smoothing as a recipe");
  return a;
}

}  // namespace kd
