// Reading what judge's stages measured back into typed evidence: the students' accuracies by
// teacher, temperature and seed, and the teachers' diagnostics from their evaluations.
#pragma once

#include <filesystem>
#include <vector>

#include "pipelines/judge/judge_answer.h"
#include "pipelines/study/stage.h"

namespace kd {

/// The students of `stages` that are done in `run_dir` (their metrics.json exists): distilled
/// ones by the teacher folder in their id (distill/NAME/…), the rest as the student alone.
/// Accuracies in points; StorageError naming a malformed metrics file.
JudgeEvidence read_evidence(const std::vector<Stage>& stages, const std::filesystem::path& run_dir,
                            const std::vector<NamedTeacher>& teachers);

/// Each teacher's diagnostics at its chosen temperature: its evaluation's metrics.json and
/// predictions.pt (the teach stage's folder for a TorchScript file, the teacher's own directory
/// otherwise), and its students' mean γ and test accuracy. Needs judgement.temperature.
std::vector<TeacherDiagnostics> teacher_diagnostics(const std::vector<NamedTeacher>& teachers,
                                                    const std::filesystem::path& run_dir,
                                                    const Judgement& judgement,
                                                    const JudgeEvidence& evidence);

}  // namespace kd
