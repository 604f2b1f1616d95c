#include "pipelines/report/judge_report.h"

#include <algorithm>
#include <cmath>

#include "lib/core/files.h"
#include "lib/core/runtime.h"
#include "pipelines/report/page_format.h"
#include "pipelines/report/report_text.h"

namespace kd {

namespace fs = std::filesystem;
using report_text::num;
using report_text::plain;

namespace {

// One arm's students: a teacher's at one temperature, or the student trained alone.
struct Arm {
  std::string name;    ///< the teacher as given, or "alone (hard labels)"
  std::string folder;  ///< the teacher's folder in the run; "" alone
  std::optional<double> temperature;
  bool chosen = false;  ///< the temperature validation chose (always, alone)
  const SeedScores* scores = nullptr;
};

std::vector<Arm> arms(const JudgeAnswer& a) {
  std::vector<Arm> out;
  for (std::size_t i = 0; i < a.teachers.size() && i < a.evidence.distilled.size(); ++i) {
    for (const auto& [t, scores] : a.evidence.distilled[i]) {
      const bool chosen = i < a.judgement.temperature.size() && a.judgement.temperature[i] == t;
      out.push_back({a.teachers[i].given, a.teachers[i].teacher.name, t, chosen, &scores});
    }
  }
  out.push_back({"alone (hard labels)", "", std::nullopt, true, &a.evidence.alone});
  return out;
}

std::string points(double v) { return num(v, 2); }

std::string signed_two_places(double v) { return (v >= 0 ? "+" : "") + num(v, 2); }

Table teachers_table(const JudgeAnswer& a) {
  Table t{{"teacher", "kind", "folder", "content hash", "label smoothing", "T", "accuracy %",
           "NLL@T", "ECE@T", "MI", "agreement %", "gamma", "students % (mean, all seeds)"},
          {}};
  for (std::size_t i = 0; i < a.teachers.size(); ++i) {
    const NamedTeacher& x = a.teachers[i];
    std::vector<std::string> row = {
        x.given,
        x.teacher.torchscript.empty() ? "kdpipe directory" : "TorchScript",
        x.teacher.name,
        x.content_hash.substr(0, 16),
        x.smoothing ? plain(*x.smoothing) : "unknown",
        i < a.judgement.temperature.size() ? plain(a.judgement.temperature[i]) : "-"};
    if (i < a.diagnostics.size()) {
      const TeacherDiagnostics& d = a.diagnostics[i];
      for (const std::string& cell :
           {points(d.accuracy), num(d.nll, 3), num(d.ece, 3), num(d.mi, 3),
            d.agreement ? points(*d.agreement) : "-", num(d.gamma, 3), points(d.students)})
        row.push_back(cell);
    } else {
      row.resize(t.header.size(), "-");
    }
    t.rows.push_back(row);
  }
  return t;
}

Table comparisons_table(const JudgeAnswer& a) {
  Table t{
      {"family", "a", "b", "decision", "a minus b (points)", "interval", "interval level", "seeds"},
      {}};
  for (const JudgedComparison& c : a.judgement.comparisons) {
    const Difference& d = c.difference;
    const bool has_interval = std::isfinite(d.low) && std::isfinite(d.high);
    t.rows.push_back(
        {c.b ? "teachers" : "against alone", a.teachers[c.a].given,
         c.b ? a.teachers[*c.b].given : "alone", to_string(c.decision),
         signed_two_places(d.estimate),
         has_interval ? signed_two_places(d.low) + " to " + signed_two_places(d.high) : "-",
         num(d.level, 4), std::to_string(c.seeds)});
  }
  return t;
}

Table students_table(const JudgeAnswer& a) {
  Table t{{"students of", "T", "chosen", "seeds", "test accuracy % (mean)", "min", "max",
           "validation % (mean)", "gamma"},
          {}};
  for (const Arm& arm : arms(a)) {
    if (arm.scores->empty()) continue;
    double test = 0, val = 0, gamma = 0, lo = 1e9, hi = -1e9;
    for (const auto& [seed, s] : *arm.scores) {
      test += s.test, val += s.val, gamma += s.gamma;
      lo = std::min(lo, s.test), hi = std::max(hi, s.test);
    }
    const auto n = static_cast<double>(arm.scores->size());
    t.rows.push_back({arm.name, plain(arm.temperature), arm.chosen ? "yes" : "no",
                      std::to_string(arm.scores->size()), points(test / n), points(lo), points(hi),
                      points(val / n), num(gamma / n, 3)});
  }
  return t;
}

std::string judge_page(const JudgeAnswer& a, const fs::path& run_dir, PageFormat& page) {
  page.begin("kdpipe judge: the teachers of " + a.student);
  page.paragraph("Run ", fs::absolute(run_dir).string(),
                 std::string(", kdpipe ") + version() + ", " + utc_timestamp() + ".");
  page.heading(2, "Answer");
  page.bullets(answer_lines(a));
  page.heading(2, "Teachers");
  page.table(teachers_table(a));
  page.paragraph("What the teachers' logits say without students, at each one's T (", "report.json",
                 " teachers[].diagnostics): a table, not a claim.");
  const std::vector<std::string> diagnostics = diagnostics_table(a);
  if (!diagnostics.empty()) page.bullets({diagnostics.back()});  // the ranking line
  page.heading(2, "Comparisons");
  page.table(comparisons_table(a));
  page.paragraph("Each comparison over the seeds both arms share at its deciding look; its ",
                 "interval level",
                 " is the repeated interval's, wider than 95% so that looking after every seed "
                 "keeps each family's false 'differs' at 5% (Holm: the level of open comparisons "
                 "relaxes as others are decided).");
  page.heading(2, "Students");
  page.table(students_table(a));
  page.paragraph("Every student, seed by seed: ", "report.json", " (students).");
  page.end();
  return page.text();
}

}  // namespace

nlohmann::json judge_report_json(const JudgeAnswer& a) {
  nlohmann::json out = answer_json(a);
  nlohmann::json students = nlohmann::json::array();
  for (const Arm& arm : arms(a)) {
    for (const auto& [seed, s] : *arm.scores) {
      students.push_back(
          {{"teacher", arm.folder.empty() ? nlohmann::json(nullptr) : nlohmann::json(arm.name)},
           {"teacher_folder",
            arm.folder.empty() ? nlohmann::json(nullptr) : nlohmann::json(arm.folder)},
           {"temperature",
            arm.temperature ? nlohmann::json(*arm.temperature) : nlohmann::json(nullptr)},
           {"chosen_temperature", arm.chosen},
           {"seed", seed},
           {"test_accuracy", s.test / 100},
           {"val_accuracy", s.val / 100},
           {"target_gamma", s.gamma}});
    }
  }
  out["students"] = students;
  return out;
}

fs::path write_judge_report(const JudgeAnswer& a, const fs::path& run_dir) {
  // Written inside the run only: a report folder that is a link out of it is refused.
  const fs::path dir = inside(run_dir, "report", "the report folder");
  ensure_directory(dir);
  write_text_atomically(dir / "report.json", judge_report_json(a).dump(2) + "\n");
  write_text_atomically(dir / "report.md", judge_page(a, run_dir, *markdown_format()));
  write_text_atomically(dir / "report.html", judge_page(a, run_dir, *html_format()));
  return dir;
}

}  // namespace kd
