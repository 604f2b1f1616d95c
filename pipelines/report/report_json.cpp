// report.json: the report model field by field, the file a script reads.
#include "lib/core/runtime.h"
#include "pipelines/report/report_model.h"
#include "pipelines/report/report_writers.h"

namespace kd {

using json = nlohmann::json;

namespace {

template <typename T>
json or_null(const std::optional<T>& v) {
  return v ? json(*v) : json();
}

json to_json(const Projection& p) {
  json points = json::array();
  for (const Projection::Point& pt : p.points) {
    points.push_back({{"split", pt.split}, {"class", pt.cls}, {"x", pt.x}, {"y", pt.y}});
  }
  return {{"classes", p.classes}, {"class_indices", p.class_indices}, {"points", points}};
}

json to_json(const TeacherResult& t) {
  json j = {{"id", t.id},
            {"arch", t.arch},
            {"smoothing", t.smoothing},
            {"seed", t.seed},
            {"test_accuracy", t.test_accuracy},
            {"test_nll", t.test_nll},
            {"test_ece", t.test_ece},
            {"temperature", or_null(t.temperature)},
            {"test_ece_after_temperature", or_null(t.test_ece_after_temperature)},
            {"mi_final", t.mi_final},
            {"mi_per_epoch", t.mi_per_epoch},
            {"mi_upper_bound", t.mi_upper_bound},
            {"stability", t.stability},
            {"reliability", t.reliability},
            {"source", t.source}};
  if (t.projection) j["projection"] = to_json(*t.projection);
  if (!t.projection_note.empty()) j["projection_note"] = t.projection_note;
  return j;
}

json to_json(const StudentGroup& g) {
  json j = {{"kind", to_string(g.key.source)},
            {"arch", g.key.arch},
            {"teacher_smoothing", or_null(g.key.teacher_smoothing)},
            {"temperature", or_null(g.key.temperature)},
            {"alpha", or_null(g.key.alpha)},
            {"smoothing", or_null(g.key.smoothing)},
            {"seeds", g.seeds},
            {"accuracies", g.accuracies},
            {"val_accuracies", g.val_accuracies},
            {"eces", g.eces},
            {"gammas", g.gammas},
            {"n", g.n()},
            {"accuracy_mean", g.accuracy_mean},
            {"accuracy_ci95", or_null(g.accuracy_ci95)},
            {"accuracy_min", g.accuracy_min},
            {"accuracy_max", g.accuracy_max},
            {"ece_mean", g.ece_mean},
            {"gamma_mean", g.gamma_mean}};
  if (g.val_accuracy_mean) j["val_accuracy_mean"] = *g.val_accuracy_mean;
  return j;
}

json to_json(const TeacherComparison& c) {
  return {{"smoothing_a", c.smoothing_a},
          {"smoothing_b", c.smoothing_b},
          {"method", c.method},
          {"estimate", c.estimate},
          {"ci95", c.ci95},
          {"mcnemar_p", c.mcnemar_p},
          {"examples", c.examples},
          {"only_a_right", c.only_a_right},
          {"only_b_right", c.only_b_right}};
}

json to_json(const CacheResult& c) {
  return {{"id", c.id},
          {"examples", c.examples},
          {"views", c.views},
          {"classes", c.classes},
          {"temperatures", c.temperatures},
          {"top_k", c.top_k},
          {"top_k_rule", c.top_k_rule},
          {"bytes_per_example_view", c.bytes_per_example_view},
          {"file_bytes", c.file_bytes}};
}

json to_json(const FigureFiles& f) {
  return {{"name", f.name}, {"title", f.title}, {"png", f.png},
          {"svg", f.svg},   {"gp", f.gp},       {"tsv", f.tsv}};
}

template <typename T>
json list(const std::vector<T>& items) {
  json out = json::array();
  for (const T& item : items) out.push_back(to_json(item));
  return out;
}

class JsonWriter : public ReportWriter {
 public:
  std::string file_name() const override { return "report.json"; }
  std::string render(const Report& r) const override { return to_json(r).dump(2) + "\n"; }
};

}  // namespace

json to_json(const Report& r) {
  return {{"schema", kReportSchema},
          {"schema_version", kReportSchemaVersion},
          {"kdpipe_version", r.kdpipe_version},
          {"created", r.created},
          {"run_dir", r.run_dir},
          {"teachers", list(r.teachers)},
          {"caches", list(r.caches)},
          {"students", list(r.students)},
          {"teacher_comparisons", list(r.teacher_comparisons)},
          {"verdict", r.verdict},
          {"decisions", r.decisions ? answer_json(*r.decisions) : nlohmann::json(nullptr)},
          {"figures", list(r.figures)}};
}

std::unique_ptr<ReportWriter> json_writer() { return std::make_unique<JsonWriter>(); }

}  // namespace kd
