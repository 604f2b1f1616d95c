#include "pipelines/report/report_model.h"

#include <algorithm>
#include <map>
#include <sstream>

#include "lib/core/error.h"
#include "lib/core/files.h"
#include "lib/core/runtime.h"
#include "lib/data/datasets.h"
#include "lib/metrics/projection.h"
#include "lib/metrics/statistics.h"
#include "lib/models/zoo.h"
#include "lib/train/classifier_metrics.h"
#include "lib/train/evaluate.h"
#include "pipelines/study/study.h"

namespace kd {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string arg_after(const json& command, const std::string& flag) {
  for (std::size_t i = 0; i + 1 < command.size(); ++i) {
    if (command[i] == flag) return command[i + 1].get<std::string>();
  }
  return "";
}

// Müller et al.'s fig. 1 for one teacher: up to `examples` training and test examples of each of
// three classes, projected onto the plane of the three classes' templates.
json projection(const fs::path& model_path, const json& options,
                const std::array<int64_t, 3>& classes, int64_t examples) {
  const LoadedModel loaded = load_model(model_path);
  ImageFormat format = parse_image_size(options.value("image_size", ""));
  format.channels = options.value("channels", int64_t{0});
  const Dataset data = load_dataset(DataOptions(options["dataset"].get<std::string>())
                                        .data_dir(options["data_dir"].get<std::string>())
                                        .val_size(options["val_size"].get<int64_t>())
                                        .format(format));
  const TemplatePlane plane =
      template_plane(loaded.model->head()->weight, loaded.model->head()->bias, classes);
  json out = {{"classes", json::array()}, {"class_indices", classes}, {"points", json::array()}};
  for (int64_t c : classes)
    out["classes"].push_back(data.info.class_names[static_cast<std::size_t>(c)]);
  for (const auto& [split, set] :
       {std::pair<std::string, const ImageSet*>{"train", &data.train}, {"test", &data.test}}) {
    std::vector<int64_t> rows, which;  // example, and the index of its class in `classes`
    for (std::size_t k = 0; k < classes.size(); ++k) {
      const torch::Tensor members = set->labels.eq(classes[k]).nonzero().flatten();
      for (int64_t i = 0; i < std::min<int64_t>(examples, members.numel()); ++i) {
        rows.push_back(members[i].item<int64_t>());
        which.push_back(static_cast<int64_t>(k));
      }
    }
    const Predictions p = predict(loaded.model, *set, data.info, PredictOptions(),
                                  torch::tensor(rows, torch::kInt64), /*with_features=*/true);
    const torch::Tensor xy = project(plane, p.features);
    for (std::size_t i = 0; i < rows.size(); ++i) {
      out["points"].push_back({{"split", split},
                               {"class", which[i]},
                               {"x", xy[static_cast<int64_t>(i)][0].item<double>()},
                               {"y", xy[static_cast<int64_t>(i)][1].item<double>()}});
    }
  }
  return out;
}

// Teachers of two label-smoothing values with one seed each, compared example by example on the
// test set they share: a paired bootstrap interval of the accuracy difference and McNemar's exact
// test (from the stages' predictions.pt). Pairs without predictions are left out.
json teacher_comparisons(const fs::path& run_dir, const json& teachers) {
  std::map<double, std::vector<const json*>> by_eps;
  for (const json& t : teachers) by_eps[t["smoothing"].get<double>()].push_back(&t);
  json out = json::array();
  for (auto a = by_eps.begin(); a != by_eps.end(); ++a) {
    for (auto b = std::next(a); b != by_eps.end(); ++b) {
      if (a->second.size() != 1 || b->second.size() != 1) continue;
      const fs::path pa = run_dir / (*a->second[0])["id"].get<std::string>() / "predictions.pt";
      const fs::path pb = run_dir / (*b->second[0])["id"].get<std::string>() / "predictions.pt";
      if (!fs::exists(pa) || !fs::exists(pb)) continue;
      const TestPredictions x = load_test_predictions(pa), y = load_test_predictions(pb);
      if (x.test_fingerprint != y.test_fingerprint) continue;
      const torch::Tensor right_x = x.logits.argmax(1).eq(x.labels);
      const torch::Tensor right_y = y.logits.argmax(1).eq(y.labels);
      const Difference d = paired_accuracy_difference(right_x, right_y);
      out.push_back(
          {{"smoothing_a", a->first},
           {"smoothing_b", b->first},
           {"method", "paired bootstrap over test examples (2000 resamples); McNemar exact"},
           {"estimate", d.estimate},
           {"ci95", {d.low, d.high}},
           {"mcnemar_p", d.p_value},
           {"examples", d.n},
           {"only_a_right", right_x.logical_and(right_y.logical_not()).sum().item<int64_t>()},
           {"only_b_right", right_y.logical_and(right_x.logical_not()).sum().item<int64_t>()}});
    }
  }
  return out;
}

}  // namespace

json build_report(const fs::path& run_dir) {
  const fs::path manifest_path = run_dir / "manifest.json";
  check<StorageError>(fs::exists(manifest_path), manifest_path.string(),
                      ": no such file (not a kdpipe run directory, or the run never started)");
  const json manifest = json::parse(read_text(manifest_path));
  // The report's own settings, from the run's resolved study file (defaults without one).
  const Study study =
      fs::exists(run_dir / "study.ini") ? load_study(run_dir / "study.ini") : Study();
  json teachers = json::array();
  std::map<std::string, json> groups;  // key → group with per-seed values
  for (const json& stage : manifest["stages"]) {
    const std::string kind = stage["kind"];
    if (kind == "cache") continue;
    const fs::path metrics_path = run_dir / stage["output"].get<std::string>();
    if (!fs::exists(metrics_path)) continue;
    const json m = json::parse(read_text(metrics_path));
    const json record =
        json::parse(read_text(run_dir / stage["id"].get<std::string>() / "stage.json"));
    const json& cmd = record["command"];
    if (kind == "teach") {
      const json scaling = m.value("temperature_scaling", json::object());
      teachers.push_back({{"id", stage["id"]},
                          {"arch", m["options"]["arch"]},
                          {"smoothing", m["options"]["smoothing"]},
                          {"seed", m["options"]["seed"]},
                          {"test_accuracy", m["test"]["accuracy"]},
                          {"test_nll", m["test"]["nll"]},
                          {"test_ece", m["test"]["ece"]},
                          // Absent with val-size = 0: nothing to fit a temperature on.
                          {"temperature", scaling.value("temperature", json())},
                          {"test_ece_after_temperature", scaling.value("test_ece", json())},
                          {"mi_final", m["mutual_information"]["final"]},
                          {"mi_per_epoch", m["mutual_information"]["per_epoch"]},
                          {"mi_upper_bound", m["mutual_information"]["upper_bound"]},
                          {"stability", m["train"]["stability"]},
                          {"reliability", m["test"]["reliability"]},
                          {"source", m["model"].value("source", "kdpipe")}});
      // A TorchScript teacher shows no penultimate layer: it has no projection.
      const fs::path model_path = run_dir / stage["id"].get<std::string>() / "model.pt";
      if (fs::exists(model_path)) {
        teachers.back()["projection"] = projection(
            model_path, m["options"], study.projection_classes, study.projection_examples);
      }
      continue;
    }
    json key = {{"kind", kind == "baseline" ? arg_after(cmd, "--baseline") : "distill"},
                {"arch", m["options"]["arch"]},
                {"teacher_smoothing", nullptr},
                {"temperature", nullptr},
                {"alpha", nullptr},
                {"smoothing", nullptr}};
    if (kind == "baseline") {
      if (key["kind"] == "smooth") key["smoothing"] = m["options"]["smoothing"];
    } else {
      key["teacher_smoothing"] = m["teacher"]["smoothing"];
      key["temperature"] = m["options"]["temperature"];
      key["alpha"] = m["options"]["alpha"];
    }
    json& g = groups[key.dump()];
    if (g.is_null()) {
      g = key;
      g["seeds"] = json::array();
      g["accuracies"] = json::array();
      g["val_accuracies"] = json::array();
      g["eces"] = json::array();
      g["gammas"] = json::array();
    }
    g["seeds"].push_back(m["options"]["seed"]);
    g["accuracies"].push_back(m["test"]["accuracy"]);
    if (m.contains("val")) g["val_accuracies"].push_back(m["val"]["accuracy"]);
    g["eces"].push_back(m["test"]["ece"]);
    g["gammas"].push_back(m["target_gamma"]);
  }
  json students = json::array();
  for (auto& [k, g] : groups) {
    const auto mean = [](const json& v) {
      double s = 0;
      for (const auto& x : v) s += x.get<double>();
      return v.empty() ? 0.0 : s / v.size();
    };
    std::vector<double> acc = g["accuracies"].get<std::vector<double>>();
    g["n"] = acc.size();
    g["accuracy_mean"] = mean(g["accuracies"]);
    if (g["val_accuracies"].size() == acc.size())
      g["val_accuracy_mean"] = mean(g["val_accuracies"]);
    // The 95% t interval of the group's mean test accuracy over its seeds (null with one seed).
    const Difference ci = paired_difference(acc, std::vector<double>(acc.size(), 0.0));
    g["accuracy_ci95"] = acc.size() >= 2 ? json({ci.low, ci.high}) : json();
    g["accuracy_min"] = *std::min_element(acc.begin(), acc.end());
    g["accuracy_max"] = *std::max_element(acc.begin(), acc.end());
    g["ece_mean"] = mean(g["eces"]);
    g["gamma_mean"] = mean(g["gammas"]);
    students.push_back(g);
  }
  std::sort(teachers.begin(), teachers.end(), [](const json& a, const json& b) {
    return std::make_pair(a["smoothing"].get<double>(), a["seed"].get<int64_t>()) <
           std::make_pair(b["smoothing"].get<double>(), b["seed"].get<int64_t>());
  });
  const json comparisons = teacher_comparisons(run_dir, teachers);
  return {{"schema", kReportSchema},
          {"schema_version", kReportSchemaVersion},
          {"kdpipe_version", version()},
          {"created", utc_timestamp()},
          {"run_dir", fs::absolute(run_dir).string()},
          {"teachers", teachers},
          {"students", students},
          {"teacher_comparisons", comparisons},
          {"verdict", verdict(teachers, students, comparisons)}};
}

}  // namespace kd
