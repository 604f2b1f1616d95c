#include "pipelines/judge/judge_evidence.h"

#include "lib/core/error.h"
#include "lib/metrics/calibration.h"
#include "lib/train/classifier_metrics.h"
#include "pipelines/report/results_reader.h"
#include "pipelines/study/executor.h"

namespace kd {

namespace fs = std::filesystem;

JudgeEvidence read_evidence(const std::vector<Stage>& stages, const fs::path& run_dir,
                            const std::vector<NamedTeacher>& teachers) {
  JudgeEvidence e;
  e.distilled.resize(teachers.size());
  for (const Stage& s : stages) {
    if (s.kind != StageKind::distill && s.kind != StageKind::baseline) continue;
    // Done with these inputs: a student of other options (an earlier judge into the same
    // folder) is not evidence, even where its metrics.json is still there.
    if (!pending_reason(s, run_dir).empty()) continue;
    const fs::path metrics = run_dir / s.output;
    const StudentResult r = read_student_metrics(metrics, s.id);
    check<StorageError>(r.val_accuracy.has_value(), metrics.string(),
                        ": no validation accuracy (judge needs --val-size > 0)");
    const StudentScore score{100 * *r.val_accuracy, 100 * r.test_accuracy, r.target_gamma};
    if (s.kind == StageKind::baseline) {
      e.alone[static_cast<std::uint64_t>(r.seed)] = score;
      continue;
    }
    for (std::size_t i = 0; i < teachers.size(); ++i) {
      if (s.id.rfind("distill/" + teachers[i].teacher.name + "/", 0) != 0) continue;
      e.distilled[i][r.key.temperature.value_or(0)][static_cast<std::uint64_t>(r.seed)] = score;
    }
  }
  return e;
}

std::vector<TeacherDiagnostics> teacher_diagnostics(const std::vector<NamedTeacher>& teachers,
                                                    const fs::path& run_dir,
                                                    const Judgement& judgement,
                                                    const JudgeEvidence& evidence) {
  std::vector<TeacherDiagnostics> out(teachers.size());
  std::vector<TestPredictions> predictions;
  for (std::size_t i = 0; i < teachers.size(); ++i) {
    const JudgedTeacher& t = teachers[i].teacher;
    const fs::path folder = t.torchscript.empty() ? t.directory : run_dir / ("teach/" + t.name);
    const TeacherRecord record = read_teacher_metrics(folder / "metrics.json", teachers[i].given);
    predictions.push_back(load_test_predictions(folder / "predictions.pt"));
    const double temperature = judgement.temperature.at(i);
    const CalibrationReport c =
        calibration(predictions.back().logits, predictions.back().labels, temperature);
    TeacherDiagnostics& d = out[i];
    d.accuracy = 100 * c.accuracy;
    d.nll = c.nll;
    d.ece = c.ece;
    d.mi = record.result.mi_final;
    const auto& students = evidence.distilled[i].at(temperature);
    for (const auto& [seed, s] : students) {
      d.students += s.test / static_cast<double>(students.size());
      d.gamma += s.gamma / static_cast<double>(students.size());
    }
  }
  // Agreement: the share of test examples on which two teachers predict the same class.
  for (std::size_t i = 0; i < teachers.size(); ++i) {
    double sum = 0;
    int others = 0;
    for (std::size_t k = 0; k < teachers.size(); ++k) {
      if (k == i || predictions[k].test_fingerprint != predictions[i].test_fingerprint) continue;
      sum += 100 * predictions[i]
                       .logits.argmax(1)
                       .eq(predictions[k].logits.argmax(1))
                       .to(torch::kFloat64)
                       .mean()
                       .item<double>();
      ++others;
    }
    if (others > 0) out[i].agreement = sum / others;
  }
  return out;
}

}  // namespace kd
