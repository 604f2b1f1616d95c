#include "pipelines/study/study_rounds.h"

#include "pipelines/report/results_reader.h"
#include "pipelines/report/study_decisions.h"
#include "pipelines/study/executor.h"
#include "pipelines/study/stages.h"

namespace kd {

namespace fs = std::filesystem;

std::vector<Stage> plan_with_rounds(const Study& study, const fs::path& run_dir) {
  std::vector<RoundStudent> rounds;
  for (;;) {
    const std::vector<Stage> stages = plan_stages(study, rounds);
    if (study.max_seeds == 0) return stages;
    std::vector<StudentResult> students;
    for (const Stage& s : stages) {
      if (s.kind != StageKind::distill && s.kind != StageKind::baseline) continue;
      if (!pending_reason(s, run_dir).empty()) return stages;  // this round is not done yet
      students.push_back(read_student_metrics(run_dir / s.output, s.id));
    }
    const auto decisions = study_decisions(study, students);
    if (!decisions || decisions->next.empty()) return stages;
    rounds.insert(rounds.end(), decisions->next.begin(), decisions->next.end());
  }
}

}  // namespace kd
