#include "pipelines/report/report_model.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <optional>

#include "lib/core/error.h"
#include "lib/core/files.h"
#include "lib/core/runtime.h"
#include "lib/data/example_stream.h"
#include "lib/metrics/projection.h"
#include "lib/metrics/statistics.h"
#include "lib/models/zoo.h"
#include "lib/train/classifier_metrics.h"
#include "lib/train/evaluate.h"
#include "pipelines/report/results_reader.h"
#include "pipelines/report/study_decisions.h"
#include "pipelines/study/study.h"
#include "storage/logit_cache.h"

namespace kd {

namespace fs = std::filesystem;

namespace {

double mean(const std::vector<double>& v) {
  return v.empty() ? 0.0 : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

// Müller et al.'s fig. 1 for one teacher: up to `examples` training and test examples of each of
// three classes, projected onto the plane of the three classes' templates.
Projection projection(const LoadedModel& loaded, const DataOptions& data_options,
                      const std::array<int64_t, 3>& classes, int64_t examples) {
  // A training split too large to hold stays in its file: only the examples drawn are read.
  const Dataset data = load_dataset(DataOptions(data_options).stream(true));
  const TemplatePlane plane =
      template_plane(loaded.model->head()->weight, loaded.model->head()->bias, classes);
  Projection out;
  out.class_indices = classes;
  for (int64_t c : classes)
    out.classes.push_back(data.info.class_names[static_cast<std::size_t>(c)]);
  for (const auto& [split, set] :
       {std::pair<std::string, const ImageSet*>{"train", &data.train}, {"test", &data.test}}) {
    const bool streamed = split == "train" && data.stream;
    const torch::Tensor& labels = streamed ? data.stream->labels() : set->labels;
    std::vector<int64_t> rows, which;  // example, and the index of its class in `classes`
    for (std::size_t k = 0; k < classes.size(); ++k) {
      const torch::Tensor members = labels.eq(classes[k]).nonzero().flatten();
      for (int64_t i = 0; i < std::min<int64_t>(examples, members.numel()); ++i) {
        rows.push_back(members[i].item<int64_t>());
        which.push_back(static_cast<int64_t>(k));
      }
    }
    const torch::Tensor chosen = torch::tensor(rows, torch::kInt64);
    const Predictions p =
        streamed ? predict(loaded.model, data.stream->read(chosen), data.info, PredictOptions(), {},
                           /*with_features=*/true)
                 : predict(loaded.model, *set, data.info, PredictOptions(), chosen,
                           /*with_features=*/true);
    const torch::Tensor xy = project(plane, p.features).to(torch::kFloat64).contiguous();
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const auto r = static_cast<int64_t>(i);
      out.points.push_back({split, which[i], xy[r][0].item<double>(), xy[r][1].item<double>()});
    }
  }
  return out;
}

// Teachers of two label-smoothing values with one seed each, compared example by example on the
// test set they share: a paired bootstrap interval of the accuracy difference and McNemar's exact
// test (from the stages' predictions.pt). Pairs without predictions are left out.
std::vector<TeacherComparison> teacher_comparisons(const fs::path& run_dir,
                                                   const std::vector<TeacherResult>& teachers) {
  std::map<double, std::vector<const TeacherResult*>> by_eps;
  for (const TeacherResult& t : teachers) by_eps[t.smoothing].push_back(&t);
  std::vector<TeacherComparison> out;
  for (auto a = by_eps.begin(); a != by_eps.end(); ++a) {
    for (auto b = std::next(a); b != by_eps.end(); ++b) {
      if (a->second.size() != 1 || b->second.size() != 1) continue;
      const fs::path pa = run_dir / a->second[0]->id / "predictions.pt";
      const fs::path pb = run_dir / b->second[0]->id / "predictions.pt";
      if (!fs::exists(pa) || !fs::exists(pb)) continue;
      const TestPredictions x = load_test_predictions(pa), y = load_test_predictions(pb);
      if (x.test_fingerprint != y.test_fingerprint) continue;
      const torch::Tensor right_x = x.logits.argmax(1).eq(x.labels);
      const torch::Tensor right_y = y.logits.argmax(1).eq(y.labels);
      const Difference d = paired_accuracy_difference(right_x, right_y);
      out.push_back({a->first,
                     b->first,
                     "paired bootstrap over test examples (2000 resamples); McNemar exact",
                     d.estimate,
                     {d.low, d.high},
                     d.p_value,
                     d.n,
                     right_x.logical_and(right_y.logical_not()).sum().item<int64_t>(),
                     right_y.logical_and(right_x.logical_not()).sum().item<int64_t>()});
    }
  }
  return out;
}

}  // namespace

std::vector<StudentGroup> group_students(std::vector<StudentResult> students) {
  std::sort(students.begin(), students.end(), [](const StudentResult& a, const StudentResult& b) {
    return std::make_pair(a.seed, a.id) < std::make_pair(b.seed, b.id);
  });
  std::map<StudentGroupKey, StudentGroup> groups;
  for (const StudentResult& s : students) {
    StudentGroup& g = groups[s.key];
    g.key = s.key;
    g.seeds.push_back(s.seed);
    g.accuracies.push_back(s.test_accuracy);
    if (s.val_accuracy) g.val_accuracies.push_back(*s.val_accuracy);
    g.eces.push_back(s.test_ece);
    g.gammas.push_back(s.target_gamma);
  }
  std::vector<StudentGroup> out;
  for (auto& [key, g] : groups) {
    g.accuracy_mean = mean(g.accuracies);
    if (g.has_val()) g.val_accuracy_mean = mean(g.val_accuracies);
    const auto [lo, hi] = std::minmax_element(g.accuracies.begin(), g.accuracies.end());
    g.accuracy_min = *lo;
    g.accuracy_max = *hi;
    if (g.n() >= 2) {  // the 95% t interval of the mean, as a paired difference against 0
      const Difference ci = paired_difference(g.accuracies, std::vector<double>(g.n(), 0.0));
      g.accuracy_ci95 = std::array<double, 2>{ci.low, ci.high};
    }
    g.ece_mean = mean(g.eces);
    g.gamma_mean = mean(g.gammas);
    out.push_back(std::move(g));
  }
  return out;
}

namespace {

// A finished whole cache's size and kind; none for a shard or a cache not (yet) written.
std::optional<CacheResult> read_cache_result(const ManifestStage& stage) {
  if (!fs::is_regular_file(stage.output)) return std::nullopt;
  const LogitCache cache(stage.output);
  const CacheHeader& h = cache.header();
  if (h.shard_count > 0) return std::nullopt;
  CacheResult c;
  c.id = stage.id;
  c.examples = h.n, c.views = h.v, c.classes = h.c;
  c.temperatures = static_cast<int64_t>(h.temperatures.size());
  c.top_k = h.top_k;
  c.top_k_rule = h.top_k > 0 ? to_string(h.top_k_rule) : "";
  c.bytes_per_example_view = static_cast<double>(cache.soft_label_bytes()) /
                             static_cast<double>(std::max<int64_t>(1, h.n * h.v));
  c.file_bytes = static_cast<int64_t>(fs::file_size(stage.output));
  return c;
}

}  // namespace

Report build_report(const fs::path& run_dir) {
  // The run's own files only: a manifest or study file that is a link out of the run is refused.
  const fs::path manifest_path = inside(run_dir, "manifest.json", "the run's manifest");
  check<StorageError>(fs::exists(manifest_path), manifest_path.string(),
                      ": no such file (not a kdpipe run directory, or the run never started)");
  // The report's own settings, from the run's resolved study file (defaults without one).
  const fs::path study_file = inside(run_dir, "study.ini", "the run's study file");
  const Study study = fs::exists(study_file) ? load_study(study_file) : Study();
  Report report;
  std::vector<StudentResult> students;
  for (const ManifestStage& stage : read_manifest(manifest_path)) {
    if (stage.kind == "cache") {
      if (std::optional<CacheResult> c = read_cache_result(stage); c) report.caches.push_back(*c);
      continue;
    }
    const fs::path& metrics = stage.output;
    if (!fs::exists(metrics)) continue;
    if (stage.kind != "teach") {
      students.push_back(read_student_metrics(metrics, stage.id));
      continue;
    }
    TeacherRecord t = read_teacher_metrics(metrics, stage.id);
    // A teacher evaluated from a TorchScript file has no model.pt; one trained from
    // torchscript:FILE shows its penultimate layer only by the features/head convention.
    const fs::path model_path = stage.folder / "model.pt";
    if (fs::exists(model_path)) {
      const LoadedModel loaded = load_model(model_path);
      t.result.projection_note = penultimate_note(loaded.model);
      if (t.result.projection_note.empty()) {
        t.result.projection =
            projection(loaded, t.data, study.projection_classes, study.projection_examples);
      }
    }
    report.teachers.push_back(std::move(t.result));
  }
  std::sort(report.teachers.begin(), report.teachers.end(),
            [](const TeacherResult& a, const TeacherResult& b) {
              return std::make_pair(a.smoothing, a.seed) < std::make_pair(b.smoothing, b.seed);
            });
  report.decisions = study_answer(study, students);
  report.students = group_students(std::move(students));
  report.teacher_comparisons = teacher_comparisons(run_dir, report.teachers);
  report.verdict = verdict(report.teachers, report.students, report.teacher_comparisons,
                           !report.decisions.has_value(), study.precision);
  if (report.decisions) {
    std::vector<std::string> lines = answer_lines(*report.decisions);
    for (std::string& line : lines)  // "the teacher with label smoothing 0 teaches …"
      if (!line.empty() && line[0] >= 'a' && line[0] <= 'z')
        line[0] = static_cast<char>(line[0] - 'a' + 'A');
    lines.insert(lines.end(), report.verdict.begin(), report.verdict.end());
    report.verdict = std::move(lines);
  }
  report.kdpipe_version = version();
  report.created = utc_timestamp();
  report.run_dir = fs::absolute(run_dir).string();
  return report;
}

}  // namespace kd
