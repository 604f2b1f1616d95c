#include "pipelines/judge/judge_answer.h"

#include <cmath>
#include <iomanip>
#include <sstream>

#include "lib/core/number_text.h"

namespace kd {

bool JudgeAnswer::decided() const { return !judgement.temperature.empty() && !judgement.open(); }

namespace {

std::string fixed(double v, int digits = 2) {
  std::ostringstream o;
  o << std::fixed << std::setprecision(digits) << v;
  return o.str();
}

std::string signed_points(double v) { return (v >= 0 ? "+" : "") + fixed(v); }

std::string seeds_text(int64_t n) { return std::to_string(n) + (n == 1 ? " seed" : " seeds"); }

std::string name_of(const JudgeAnswer& a, std::size_t i) { return a.teachers[i].given; }

std::string evidence(const JudgedComparison& c) {
  const Difference& d = c.difference;
  return signed_points(d.estimate) + " points (interval " + signed_points(d.low) + " to " +
         signed_points(d.high) + ", " + seeds_text(c.seeds) + ")";
}

// Seeds that would narrow the interval enough to decide an undecided comparison, at its spread:
// to exclude 0, or to fit inside ±precision, whichever is nearer.
std::string still_open(const JudgedComparison& c, double precision) {
  const Difference& d = c.difference;
  const double reach = std::max(std::fabs(d.estimate), precision - std::fabs(d.estimate));
  const int64_t need = seeds_to_resolve(reach, d.sd, d.level);
  std::string out = "undecided after " + seeds_text(c.seeds) + ": " + evidence(c) +
                    "; neither a difference nor equivalence within ±" + fixed(precision) +
                    " points is shown";
  if (need > c.seeds)
    out += " (about " + std::to_string(need) + " seeds at this spread would decide it)";
  return out;
}

std::string pair_line(const JudgeAnswer& a, const JudgedComparison& c) {
  const std::string x = name_of(a, c.a), y = name_of(a, *c.b);
  switch (c.decision) {
    case Decision::differs: {
      const bool first = c.difference.estimate > 0;
      return (first ? x : y) + " teaches " + a.student + " better than " + (first ? y : x) + ": " +
             signed_points(std::fabs(c.difference.estimate)) + " points (interval " +
             signed_points(first ? c.difference.low : -c.difference.high) + " to " +
             signed_points(first ? c.difference.high : -c.difference.low) + ", " +
             seeds_text(c.seeds) + ").";
    }
    case Decision::equivalent:
      return x + " and " + y + " teach " + a.student +
             " equally well: no difference larger than ±" + fixed(a.plan.precision) + " points; " +
             x + " minus " + y + " " + evidence(c) + ".";
    case Decision::undecided:
      break;
  }
  return x + " against " + y + ": " + still_open(c, a.plan.precision) + ".";
}

std::string alone_line(const JudgeAnswer& a, const JudgedComparison& c) {
  const std::string x = "Distilling " + a.student + " from " + name_of(a, c.a);
  switch (c.decision) {
    case Decision::differs:
      return x + (c.difference.estimate > 0 ? " beats" : " is worse than") +
             " training it alone: " + evidence(c) + ".";
    case Decision::equivalent:
      return x + " neither helps nor hurts by more than ±" + fixed(a.plan.precision) +
             " points against training it alone: " + evidence(c) + ".";
    case Decision::undecided:
      break;
  }
  return x + " against training it alone: " + still_open(c, a.plan.precision) + ".";
}

// The teacher that every other is shown to teach worse than, if there is one.
std::string best_line(const JudgeAnswer& a) {
  const std::size_t k = a.teachers.size();
  for (std::size_t i = 0; i < k; ++i) {
    bool beats_all = true;
    for (const JudgedComparison& c : a.judgement.comparisons) {
      if (!c.b || (c.a != i && *c.b != i)) continue;
      const double mine = c.a == i ? c.difference.estimate : -c.difference.estimate;
      beats_all &= c.decision == Decision::differs && mine > 0;
    }
    if (beats_all)
      return "Best teacher for " + a.student + ": " + name_of(a, i) +
             " (T = " + exact_text(a.judgement.temperature[i]) +
             "), better than every other teacher.";
  }
  return "No teacher is shown to teach " + a.student + " better than every other one.";
}

std::string rule_text(const JudgeAnswer& a) {
  return "paired t over student seeds (one seed: the same initial weights and data order for "
         "every arm), Pocock group-sequential boundary looking after every seed from " +
         std::to_string(a.plan.first_look) + " to " + std::to_string(a.plan.max_pairs) +
         ", Holm across each family of comparisons (teacher pairs; each teacher against training "
         "alone): at most " +
         fixed(100 * a.plan.alpha, 0) +
         "% false 'differs' per family; equivalent: the repeated "
         "interval inside ±" +
         fixed(a.plan.precision) + " points";
}

}  // namespace

std::vector<std::string> answer_lines(const JudgeAnswer& a) {
  std::vector<std::string> out;
  const Judgement& j = a.judgement;
  if (j.temperature.empty()) {
    out.push_back("No answer yet: the first round of students (" +
                  std::to_string(a.plan.first_look) + " seeds at each temperature) is not done.");
    return out;
  }
  if (a.teachers.size() >= 2) out.push_back(best_line(a));
  for (const JudgedComparison& c : j.comparisons)
    out.push_back(c.b ? pair_line(a, c) : alone_line(a, c));
  for (const std::string& note : a.notes) out.push_back("Note: " + note + ".");
  out.push_back("Temperatures, chosen on validation accuracy in the first round:");
  for (std::size_t i = 0; i < a.teachers.size(); ++i)
    out.back() += (i ? ", " : " ") + name_of(a, i) + " T = " + exact_text(j.temperature[i]);
  out.back() += ".";
  out.push_back("Rule: " + rule_text(a) + ".");
  int64_t open = 0;
  for (const JudgedComparison& c : j.comparisons) open += c.decision == Decision::undecided;
  if (open == 0) {
    out.push_back("Outcome: decided, every comparison, within " + seeds_text(j.looked) + ".");
  } else {
    const std::string why =
        a.stop == JudgeStop::time_limit ? "the time limit stopped judge"
        : a.stop == JudgeStop::unfinished
            ? "the next round's students are not all done: judge again with the same options to "
              "go on"
            : "--max-seeds reached";
    out.push_back(
        "Outcome: " + std::string(a.stop == JudgeStop::unfinished ? "unfinished" : "undecided") +
        ": " + std::to_string(open) + " of " + std::to_string(j.comparisons.size()) +
        " comparisons still open after " + seeds_text(j.looked) + " (" + why + ").");
  }
  return out;
}

std::vector<std::string> diagnostics_table(const JudgeAnswer& a) {
  std::vector<std::string> out;
  if (a.diagnostics.size() != a.teachers.size()) return out;
  std::size_t width = 7;
  for (const NamedTeacher& t : a.teachers) width = std::max(width, t.given.size());
  const auto pad = [&](const std::string& s) { return s + std::string(width + 2 - s.size(), ' '); };
  out.push_back(pad("teacher") +
                "T     acc %   NLL@T   ECE@T   MI     agree %  gamma   students %");
  for (std::size_t i = 0; i < a.teachers.size(); ++i) {
    const TeacherDiagnostics& d = a.diagnostics[i];
    std::ostringstream o;
    o << pad(a.teachers[i].given) << std::left << std::setw(6)
      << exact_text(a.judgement.temperature[i]) << std::setw(8) << fixed(d.accuracy) << std::setw(8)
      << fixed(d.nll, 3) << std::setw(8) << fixed(d.ece, 3) << std::setw(7) << fixed(d.mi, 3)
      << std::setw(9) << (d.agreement ? fixed(*d.agreement) : "-") << std::setw(8)
      << fixed(d.gamma, 3) << fixed(d.students);
    out.push_back(o.str());
  }
  if (a.teachers.size() < 2) return out;
  // Does each diagnostic order the teachers as their students' accuracy does? Pairs in order.
  struct Measure {
    const char* name;
    double (*value)(const TeacherDiagnostics&);  // higher: the better teacher by it
  };
  const Measure measures[] = {
      {"accuracy", [](const TeacherDiagnostics& d) { return d.accuracy; }},
      {"NLL", [](const TeacherDiagnostics& d) { return -d.nll; }},
      {"ECE", [](const TeacherDiagnostics& d) { return -d.ece; }},
      {"MI", [](const TeacherDiagnostics& d) { return d.mi; }},
  };
  std::string line = "Ranking the teachers as their students did (pairs in the same order):";
  const std::size_t k = a.teachers.size();
  const std::size_t pairs = k * (k - 1) / 2;
  for (const Measure& m : measures) {
    std::size_t same = 0;
    for (std::size_t x = 0; x < k; ++x) {
      for (std::size_t y = x + 1; y < k; ++y) {
        const double by_students = a.diagnostics[x].students - a.diagnostics[y].students;
        const double by_measure = m.value(a.diagnostics[x]) - m.value(a.diagnostics[y]);
        same += (by_students > 0) == (by_measure > 0);
      }
    }
    line +=
        std::string(" ") + m.name + " " + std::to_string(same) + "/" + std::to_string(pairs) + ";";
  }
  line.back() = '.';
  out.push_back(line);
  return out;
}

nlohmann::json answer_json(const JudgeAnswer& a) {
  nlohmann::json teachers = nlohmann::json::array();
  for (std::size_t i = 0; i < a.teachers.size(); ++i) {
    const NamedTeacher& t = a.teachers[i];
    nlohmann::json e = {
        {"name", t.given},
        {"smoothing", t.smoothing ? nlohmann::json(*t.smoothing) : nlohmann::json(nullptr)}};
    if (!t.content_hash.empty()) {  // a file judge was given (a study's teachers are its own)
      e["path"] =
          (t.teacher.torchscript.empty() ? t.teacher.directory : t.teacher.torchscript).string();
      e["kind"] = t.teacher.torchscript.empty() ? "kdpipe-directory" : "torchscript";
      e["content_hash"] = t.content_hash;
      e["folder"] = t.teacher.name;
    }
    if (i < a.judgement.temperature.size()) e["temperature"] = a.judgement.temperature[i];
    if (i < a.diagnostics.size()) {
      const TeacherDiagnostics& d = a.diagnostics[i];
      e["diagnostics"] = {
          {"test_accuracy", d.accuracy / 100},
          {"nll_at_t", d.nll},
          {"ece_at_t", d.ece},
          {"mi", d.mi},
          {"agreement", d.agreement ? nlohmann::json(*d.agreement / 100) : nlohmann::json(nullptr)},
          {"student_gamma", d.gamma},
          {"student_accuracy", d.students / 100}};
    }
    teachers.push_back(e);
  }
  nlohmann::json comparisons = nlohmann::json::array();
  for (const JudgedComparison& c : a.judgement.comparisons) {
    const Difference& d = c.difference;
    comparisons.push_back(
        {{"a", a.teachers[c.a].given},
         {"b", c.b ? nlohmann::json(a.teachers[*c.b].given) : nlohmann::json(nullptr)},
         {"family", c.b ? "teachers" : "against-alone"},
         {"decision", to_string(c.decision)},
         {"estimate_points", d.estimate},
         {"interval_points", {d.low, d.high}},
         {"interval_level", d.level},
         {"rule", "paired t, Pocock group-sequential boundary, Holm within the family"},
         {"unit", "student seeds"},
         {"count", c.seeds}});
  }
  return {{"schema", "kdpipe-judge"},
          {"version", 1},
          {"student", a.student},
          {"outcome", a.decided()                       ? "decided"
                      : a.stop == JudgeStop::unfinished ? "unfinished"
                                                        : "undecided"},
          {"stopped_by", to_string(a.stop)},
          {"seeds", a.judgement.looked},
          {"precision_points", a.plan.precision},
          {"max_seeds", a.plan.max_pairs},
          {"first_look", a.plan.first_look},
          {"alpha", a.plan.alpha},
          {"notes", a.notes},
          {"teachers", teachers},
          {"comparisons", comparisons}};
}

}  // namespace kd
