// A study's verdict under the sequential rule (study.max-seeds): the teachers' students compared
// pairwise and with training alone, as `kdpipe judge` compares them (pipelines/judge/judgement.h),
// and the students the next round needs. Pure: the same results give the same decisions, so a
// rerun replays the rounds and resumes where they stopped.
#pragma once

#include <optional>
#include <vector>

#include "pipelines/judge/judgement.h"
#include "pipelines/report/results.h"
#include "pipelines/study/stages.h"
#include "pipelines/study/study.h"

namespace kd {

struct StudyDecisions {
  std::string arch;  ///< the students compared: the first architecture and α
  double alpha = 1;
  std::vector<double> teachers;  ///< each teacher's ε, in judgement order
  StudentGroupKey alone;         ///< the baseline chosen on validation in the first round
  SequentialPlan plan;
  Judgement judgement;
  /// The next round's students; empty when judging is over (or the first round is not in).
  std::vector<RoundStudent> next;
};

/// The decisions from `students` (every finished student of the run), or nothing when the study
/// adds no seeds (max-seeds 0) or has fewer than one teacher and a baseline.
std::optional<StudyDecisions> study_decisions(const Study& study,
                                              const std::vector<StudentResult>& students);

/// The decisions as judge words them (answer_lines, answer_json), the teachers named by ε and the
/// student trained alone by the baseline chosen; nothing without rounds.
std::optional<JudgeAnswer> study_answer(const Study& study,
                                        const std::vector<StudentResult>& students);

}  // namespace kd
