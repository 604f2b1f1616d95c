// What `kdpipe judge` answers: sentences teacher by teacher, the teachers' diagnostics as a
// table, and the same as JSON (judge.json, --json). Built from typed results; text at the edge.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "pipelines/judge/judge_teachers.h"
#include "pipelines/judge/judgement.h"

namespace kd {

/// What can be read from a teacher without training students: on the test split, at the
/// temperature its students use; and, beside it, how its students did.
struct TeacherDiagnostics {
  double accuracy = 0;              ///< points
  double nll = 0, ece = 0;          ///< of softmax(logits / T)
  double mi = 0;                    ///< the MI probe's estimate (nats)
  std::optional<double> agreement;  ///< mean top-1 agreement with the other teachers, points
  double gamma = 0;                 ///< mean γ of its students' targets at T
  double students = 0;              ///< its students' mean test accuracy at T, points
};

/// Why judge stopped; `unfinished`: a round's students are not all done (a judge killed or still
/// running, read by `kdpipe report` or `status`).
enum class JudgeStop { decided, max_seeds, time_limit, unfinished };
template <>
struct EnumNames<JudgeStop> {
  static constexpr std::array<const char*, 4> names = {"decided", "max-seeds", "time-limit",
                                                       "unfinished"};
};

struct JudgeAnswer {
  std::string student;  ///< the student spec
  std::vector<NamedTeacher> teachers;
  SequentialPlan plan;
  Judgement judgement;
  JudgeStop stop = JudgeStop::decided;
  std::vector<TeacherDiagnostics> diagnostics;  ///< per teacher, when the first round is in
  std::vector<std::string> notes;               ///< e.g. identical teachers
  JudgeEvidence evidence;  ///< every student's scores behind it: the report lists them

  /// Every comparison decided.
  bool decided() const;
};

/// The answer in words: the best teacher, each comparison, the rule, and what is still open.
std::vector<std::string> answer_lines(const JudgeAnswer& answer);

/// The diagnostics as a fixed-width table, and whether each ranks the teachers as their
/// students did.
std::vector<std::string> diagnostics_table(const JudgeAnswer& answer);

/// judge.json: schema "kdpipe-judge" 1; teachers by identity (path and content hash), each
/// comparison's decision, estimate, interval, rule, unit and count.
nlohmann::json answer_json(const JudgeAnswer& answer);

}  // namespace kd
