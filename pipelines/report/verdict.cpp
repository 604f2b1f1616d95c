// The verdict: sentences that claim a difference only when its 95% interval excludes zero, and
// name the test. Each teacher's temperature (and every other best-of choice) is picked on the
// validation split; test accuracy is only reported.
#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <sstream>

#include "lib/metrics/statistics.h"
#include "pipelines/report/report_model.h"

namespace kd {

namespace {

// One group of students (or the teachers of one ε) as the verdict sees it.
struct Group {
  std::vector<int64_t> seeds;
  std::vector<double> test;  ///< test accuracy per seed
  std::vector<double> val;   ///< validation accuracy per seed (empty without a validation split)

  static double mean(const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return v.empty() ? NAN : s / static_cast<double>(v.size());
  }
  double test_mean() const { return mean(test); }
  bool has_val() const { return !val.empty() && val.size() == test.size(); }
  double val_mean() const { return has_val() ? mean(val) : NAN; }
};

Group group_of(const StudentGroup& g) { return {g.seeds, g.accuracies, g.val_accuracies}; }

std::string pct(double v) {
  std::ostringstream o;
  o.precision(2);
  o << std::fixed << 100 * v;
  return o.str();
}

std::string points(double v) {  // a difference in percentage points, signed
  std::ostringstream o;
  o.precision(2);
  o << std::fixed << std::showpos << 100 * v;
  return o.str();
}

std::string value_text(std::optional<double> v) {
  std::ostringstream o;
  if (v) o << *v;
  return o.str();
}

std::string seeds_text(int64_t n) { return std::to_string(n) + (n == 1 ? " seed" : " seeds"); }

// First minus second: paired over the seeds when both groups have the same ones (the same
// initialisation, data order and subset), Welch otherwise.
Difference compare(const Group& a, const Group& b) {
  std::vector<int64_t> sa = a.seeds, sb = b.seeds;
  std::sort(sa.begin(), sa.end());
  std::sort(sb.begin(), sb.end());
  if (sa == sb && sa.size() == a.test.size() && sb.size() == b.test.size()) {
    std::vector<double> x, y;
    for (std::size_t i = 0; i < a.seeds.size(); ++i) {
      const auto j = std::find(b.seeds.begin(), b.seeds.end(), a.seeds[i]) - b.seeds.begin();
      x.push_back(a.test[i]);
      y.push_back(b.test[static_cast<std::size_t>(j)]);
    }
    return paired_difference(x, y);
  }
  return welch_difference(a.test, b.test);
}

// "95% interval -0.10 to +0.30 points, paired t over 3 seeds, p = 0.21"
std::string interval_text(const Difference& d) {
  std::ostringstream o;
  o << "95% interval " << points(d.low) << " to " << points(d.high) << " points, " << d.method
    << " over " << seeds_text(d.n);
  o.precision(2);
  o << ", p = " << d.p_value;
  return o.str();
}

// The sentence for "a against b": a claim only when the interval excludes zero, and then the one
// that matches the difference's sign.
std::string judged(const std::string& claim_if_higher, const std::string& claim_if_lower,
                   const std::string& subject, const std::string& what_a, const Group& a,
                   const std::string& what_b, const Group& b) {
  const Difference d = compare(a, b);
  const std::string& claim = d.estimate > 0 ? claim_if_higher : claim_if_lower;
  std::ostringstream o;
  const std::string both = pct(a.test_mean()) + "% (" + what_a + ") against " + pct(b.test_mean()) +
                           "% (" + what_b + ") on the test set";
  if (d.excludes_zero()) {
    o << claim << ": " << both << ", " << points(d.estimate) << " points (" << interval_text(d)
      << ").";
  } else if (std::isnan(d.low)) {
    o << "No difference between " << subject << " is detectable with " << seeds_text(d.n)
      << " per group: " << both << ", a gap of " << points(d.estimate)
      << " points; judging it needs at least 2 seeds per group.";
  } else {
    o << "No difference between " << subject << " is detectable with " << seeds_text(d.n) << ": "
      << both << ", " << points(d.estimate) << " points (" << interval_text(d)
      << "; the interval includes 0)";
    const int64_t need = d.method == "paired t" ? seeds_to_resolve(d.estimate, d.sd) : 0;
    if (need > d.n)
      o << "; at this spread about " << need << " seeds would resolve a gap this large";
    o << ".";
  }
  return o.str();
}

// The group of `candidates` with the best validation accuracy; by test accuracy only when some
// lack a validation split (`by_val` says which).
const StudentGroup* best_of(const std::vector<const StudentGroup*>& candidates, bool& by_val) {
  by_val = std::all_of(candidates.begin(), candidates.end(),
                       [](const StudentGroup* g) { return g->has_val(); });
  const StudentGroup* best = nullptr;
  double best_score = -1;
  for (const StudentGroup* g : candidates) {
    const Group x = group_of(*g);
    const double score = by_val ? x.val_mean() : x.test_mean();
    if (best == nullptr || score > best_score) best = g, best_score = score;
  }
  return best;
}

std::string student_what(const StudentGroup& g) {
  if (g.key.source == StudentSource::distill) {
    return "ε = " + value_text(g.key.teacher_smoothing) + ", T = " + value_text(g.key.temperature);
  }
  if (g.key.source == StudentSource::smooth) {
    return "alone, label smoothing " + value_text(g.key.smoothing);
  }
  return "alone, hard labels";
}

// The teachers' accuracy from one seed each, judged on the test examples both saw; the entry of
// `comparisons` for the pair, in either order, or nullptr.
std::string single_seed_teachers(const std::vector<TeacherComparison>& comparisons, double eps_a,
                                 double eps_b) {
  for (const TeacherComparison& c : comparisons) {
    const double x = c.smoothing_a, y = c.smoothing_b;
    if (!((x == eps_a && y == eps_b) || (x == eps_b && y == eps_a))) continue;
    const double sign = x == eps_a ? 1 : -1;  // first minus second, as the sentence reads
    const double est = sign * c.estimate;
    const double lo = sign > 0 ? c.ci95[0] : -c.ci95[1];
    const double hi = sign > 0 ? c.ci95[1] : -c.ci95[0];
    const int64_t disagree = c.only_a_right + c.only_b_right;
    std::ostringstream o, detail;
    detail.precision(2);
    detail << points(est) << " points (95% bootstrap interval " << points(lo) << " to "
           << points(hi) << " points over " << c.examples
           << " test examples; McNemar's exact test on the " << disagree
           << " examples where they disagree, p = " << c.mcnemar_p << ")";
    std::ostringstream a, b;
    a << eps_a;
    b << eps_b;
    if (lo > 0 || hi < 0) {
      o << "On this test set the teacher with label smoothing " << a.str() << " is "
        << (est > 0 ? "more" : "less") << " accurate than the one with " << b.str() << ": "
        << detail.str() << ".";
    } else {
      o << "No difference in accuracy between the teachers with label smoothing " << a.str()
        << " and " << b.str() << " is detectable on this test set: " << detail.str() << ".";
    }
    o << " With one training seed per teacher this compares two models, not two recipes: "
         "training-seed variation is not covered.";
    return o.str();
  }
  return "";
}

}  // namespace

namespace {

// The teachers' own accuracy, over their training seeds: ε = eps_a against ε = eps_b.
std::string teachers_line(const std::vector<TeacherResult>& teachers,
                          const std::vector<TeacherComparison>& comparisons, double eps_a,
                          double eps_b) {
  std::map<double, Group> teacher_groups;
  for (const TeacherResult& t : teachers) {
    Group& g = teacher_groups[t.smoothing];
    g.test.push_back(t.test_accuracy);
    g.seeds.push_back(t.seed);
  }
  if (!teacher_groups.count(eps_a) || !teacher_groups.count(eps_b)) return "";
  const Group& ta = teacher_groups[eps_a];
  const Group& tb = teacher_groups[eps_b];
  std::ostringstream s, more, less;
  s << "the teachers with label smoothing " << eps_a << " and " << eps_b << " themselves";
  more << "The teacher with label smoothing " << eps_a << " is the more accurate";
  less << "The teacher with label smoothing " << eps_a << " is the less accurate";
  std::string line = judged(more.str(), less.str(), s.str(), "ε = " + value_text(eps_a), ta,
                            "ε = " + value_text(eps_b), tb);
  const std::string by_example = ta.test.size() == 1 && tb.test.size() == 1
                                     ? single_seed_teachers(comparisons, eps_a, eps_b)
                                     : "";
  if (!by_example.empty()) return by_example;
  if (ta.test.size() < 2 || tb.test.size() < 2) {
    line +=
        " With one training seed per teacher this compares two models, not two "
        "recipes: training-seed variation is not covered.";
  }
  return line;
}

// With rounds of student seeds (one teacher seed per ε), the teachers' own accuracy as the
// sequential rule's outcomes name it: the numbers, and why the claim about the recipe stays
// undecided. The same words on any machine: one training seed decides nothing about a recipe.
std::string recipe_line(const std::vector<TeacherResult>& teachers,
                        const std::vector<TeacherComparison>& comparisons, double eps_a,
                        double eps_b, double precision) {
  const TeacherResult* a = nullptr;
  const TeacherResult* b = nullptr;
  for (const TeacherResult& t : teachers) {
    if (t.smoothing == eps_a && a == nullptr) a = &t;
    if (t.smoothing == eps_b && b == nullptr) b = &t;
  }
  if (a == nullptr || b == nullptr) return "";
  std::ostringstream o;
  o << "The teachers themselves, one training seed each: " << pct(a->test_accuracy)
    << "% (ε = " << eps_a << ") and " << pct(b->test_accuracy) << "% (ε = " << eps_b
    << ") on the test set";
  double test_sd = 0;  // of one pair's difference, from the test set's sampling alone (points)
  for (const TeacherComparison& c : comparisons) {
    if (!((c.smoothing_a == eps_a && c.smoothing_b == eps_b) ||
          (c.smoothing_a == eps_b && c.smoothing_b == eps_a)))
      continue;
    const double sign = c.smoothing_a == eps_a ? 1 : -1;
    o.precision(2);
    o << " (" << points(sign * c.estimate) << " points, 95% bootstrap interval "
      << points(sign > 0 ? c.ci95[0] : -c.ci95[1]) << " to "
      << points(sign > 0 ? c.ci95[1] : -c.ci95[0]) << " over " << c.examples
      << " test examples, McNemar p = " << c.mcnemar_p << ")";
    test_sd = 100 * (c.ci95[1] - c.ci95[0]) / (2 * 1.959964);
  }
  o << ". Which recipe makes the more accurate teacher: undecided here, since one training seed "
       "per teacher covers no training-seed variation.";
  // A paired t interval over teacher seeds decides for sure once its half-width is at most
  // precision / 2 (then it excludes 0 or lies inside ±precision). The spread of one pair's
  // difference is at least the test set's sampling: a lower bound on the seeds needed.
  const int64_t seeds = test_sd > 0 ? seeds_to_resolve(precision / 2, test_sd) : 0;
  std::ostringstream p;
  p << precision;
  o << " Deciding it within ±" << p.str()
    << " points needs teacher seeds as the unit: list teacher.seeds (with max-seeds = 0)";
  if (seeds > 0) {
    std::ostringstream sd;
    sd.precision(2);
    sd << test_sd;
    o << ", at least " << seeds << " per ε (this test set's sampling alone spreads a pair's "
      << "difference by " << sd.str() << " points; training seeds add to that)";
  }
  o << ".";
  return o.str();
}

}  // namespace

std::vector<std::string> verdict(const std::vector<TeacherResult>& teachers,
                                 const std::vector<StudentGroup>& students,
                                 const std::vector<TeacherComparison>& comparisons,
                                 bool student_lines, double precision_points) {
  std::vector<std::string> lines;
  std::vector<std::string> teacher_lines;
  // Like is compared with like: students of one architecture and one α. Across them, a paired
  // test would pair seeds of models that share nothing.
  std::map<std::pair<std::string, double>, std::map<double, std::vector<const StudentGroup*>>>
      distilled;
  std::map<std::string, std::vector<const StudentGroup*>> alone;  // by architecture
  for (const StudentGroup& g : students) {
    if (g.key.source == StudentSource::distill) {
      distilled[{g.key.arch, g.key.alpha.value_or(1.0)}][*g.key.teacher_smoothing].push_back(&g);
    } else {
      alone[g.key.arch].push_back(&g);
    }
  }
  const bool several = distilled.size() > 1;
  bool teachers_judged = false;
  for (const auto& [setting, by_eps] : distilled) {
    // With several settings each line says which students it is about.
    const std::string label =
        several ? "[student " + setting.first + ", α = " + value_text(setting.second) + "] " : "";
    // Each teacher's best students, chosen on validation.
    std::vector<std::pair<double, const StudentGroup*>> chosen;
    bool all_by_val = true;
    std::ostringstream choice;
    for (const auto& [eps, groups] : by_eps) {
      bool by_val = true;
      const StudentGroup* best = best_of(groups, by_val);
      all_by_val = all_by_val && by_val;
      chosen.emplace_back(eps, best);
      choice << (chosen.size() > 1 ? ", " : "") << "ε = " << eps
             << " → T = " << value_text(best->key.temperature);
    }
    lines.push_back(label + "Each teacher's students are taken at the temperature with the best " +
                    std::string(all_by_val ? "validation" : "test") + " accuracy" +
                    (all_by_val ? " (test accuracy is only reported)"
                                : " (no validation split: chosen on the test set, which "
                                  "flatters every best)") +
                    ": " + choice.str() + ".");
    if (chosen.size() >= 2) {
      std::sort(chosen.begin(), chosen.end(), [](const auto& x, const auto& y) {
        return group_of(*x.second).test_mean() > group_of(*y.second).test_mean();
      });
      const auto& [eps_a, a] = chosen[0];
      const auto& [eps_b, b] = chosen[1];
      std::ostringstream subject, better, worse;
      subject << "the students of the teachers with label smoothing " << eps_a << " and " << eps_b;
      better << "The teacher with label smoothing " << eps_a << " teaches better than the one with "
             << eps_b;
      worse << "The teacher with label smoothing " << eps_b << " teaches better than the one with "
            << eps_a;
      lines.push_back(label + judged(better.str(), worse.str(), subject.str(), student_what(*a),
                                     group_of(*a), student_what(*b), group_of(*b)));
      if (!teachers_judged) {  // about the teachers alone: once, whatever the students
        const std::string line =
            student_lines ? teachers_line(teachers, comparisons, eps_a, eps_b)
                          : recipe_line(teachers, comparisons, eps_a, eps_b, precision_points);
        if (!line.empty()) lines.push_back(line), teacher_lines.push_back(line);
        teachers_judged = true;
      }
    }
    const auto same_arch = alone.find(setting.first);
    if (same_arch != alone.end() && !chosen.empty()) {
      bool by_val_a = true, by_val_b = true;
      std::vector<const StudentGroup*> all_distilled;
      for (const auto& [eps, g] : chosen) all_distilled.push_back(g);
      const StudentGroup* d = best_of(all_distilled, by_val_a);
      const StudentGroup* s = best_of(same_arch->second, by_val_b);
      lines.push_back(label + judged("Distillation beat training alone",
                                     "Training alone beat distillation",
                                     "distillation and training alone", student_what(*d),
                                     group_of(*d), student_what(*s), group_of(*s)));
    }
  }
  if (!student_lines) return teacher_lines;
  if (lines.empty()) lines.push_back("Not enough finished stages for a verdict.");
  return lines;
}

}  // namespace kd
