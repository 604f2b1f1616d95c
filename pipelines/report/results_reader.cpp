#include "pipelines/report/results_reader.h"

#include <limits>

#include "lib/core/files.h"
#include "lib/core/json_reader.h"

namespace kd {

namespace fs = std::filesystem;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

std::optional<double> optional_number(const std::optional<JsonField>& f, double low, double high) {
  return f ? std::optional<double>(f->number_in(low, high)) : std::nullopt;
}

std::vector<ReliabilityBin> reliability_bins(const JsonField& bins) {
  std::vector<ReliabilityBin> out;
  for (std::size_t i = 0; i < bins.size(); ++i) {
    const JsonField b = bins[i];
    out.push_back({b["lower"].number_in(0, 1), b["upper"].number_in(0, 1),
                   static_cast<int64_t>(b["count"].number_in(0, kInf)),
                   b["confidence"].number_in(0, 1), b["accuracy"].number_in(0, 1)});
  }
  return out;
}

}  // namespace

std::vector<ManifestStage> read_manifest(const fs::path& manifest) {
  const JsonDocument doc(manifest);
  const JsonField stages = doc["stages"];
  std::vector<ManifestStage> out;
  const fs::path run_dir = manifest.parent_path();
  for (std::size_t i = 0; i < stages.size(); ++i) {
    const std::string id = stages[i]["id"].text();
    const std::string field = doc.file() + ": field 'stages[" + std::to_string(i) + "].";
    out.push_back({id, stages[i]["kind"].text(), inside(run_dir, id, field + "id'"),
                   inside(run_dir, stages[i]["output"].text(), field + "output'")});
  }
  return out;
}

TeacherRecord read_teacher_metrics(const fs::path& metrics, const std::string& id) {
  const JsonDocument doc(metrics);
  const JsonField options = doc["options"], test = doc["test"], mi = doc["mutual_information"];
  TeacherRecord r;
  TeacherResult& t = r.result;
  t.id = id;
  t.arch = options["arch"].text();
  t.source = doc["model"].has("source") ? doc["model"]["source"].text() : "kdpipe";
  t.smoothing = options["smoothing"].number_in(0, 1);
  t.seed = options["seed"].integer();
  t.test_accuracy = test["accuracy"].number_in(0, 1);
  t.test_nll = test["nll"].number_in(0, kInf);
  t.test_ece = test["ece"].number_in(0, 1);
  t.reliability = reliability_bins(test["reliability"]);
  // Absent with val-size = 0: nothing to fit a temperature on.
  if (const auto scaling = doc.root().find("temperature_scaling")) {
    t.temperature = scaling->operator[]("temperature").number_in(0, kInf);
    t.test_ece_after_temperature = optional_number(scaling->find("test_ece"), 0, 1);
  }
  t.mi_final = mi["final"].number();
  t.mi_upper_bound = mi["upper_bound"].number();
  t.mi_per_epoch = mi["per_epoch"].numbers();
  t.stability = doc["train"]["stability"].number();
  r.data = DataOptions(options["dataset"].text())
               .data_dir(options["data_dir"].text())
               .val_size(options["val_size"].integer());
  ImageFormat format = parse_image_size(options["image_size"].text());
  format.channels = options["channels"].integer();
  r.data.format(format);
  // Feature arrays (absent from the records of kdpipe before 0.4: images only).
  if (const auto standardize = options.find("standardize")) {
    r.data.standardize(standardize->raw().is_boolean() && standardize->raw().get<bool>());
  }
  if (const auto noise = options.find("feature_noise"))
    r.data.feature_noise(noise->number_in(0, 100));
  return r;
}

StudentResult read_student_metrics(const fs::path& metrics, const std::string& id) {
  const JsonDocument doc(metrics);
  const JsonField options = doc["options"];
  StudentResult s;
  s.id = id;
  const std::string baseline = options["baseline"].text();
  StudentGroupKey& k = s.key;
  k.arch = options["arch"].text();
  if (baseline == "none") {
    k.source = StudentSource::distill;
    k.teacher_smoothing = doc["teacher"]["smoothing"].number_in(0, 1);
    k.temperature = options["temperature"].number_in(0, kInf);
    k.alpha = options["alpha"].number_in(0, 1);
  } else if (baseline == "hard") {
    k.source = StudentSource::hard;
  } else if (baseline == "smooth") {
    k.source = StudentSource::smooth;
    k.smoothing = options["smoothing"].number_in(0, 1);
  } else {
    options["baseline"].fail("is '" + baseline + "', not none, hard or smooth");
  }
  s.seed = options["seed"].integer();
  s.test_accuracy = doc["test"]["accuracy"].number_in(0, 1);
  s.test_ece = doc["test"]["ece"].number_in(0, 1);
  s.target_gamma = doc["target_gamma"].number();
  if (const auto val = doc.root().find("val")) s.val_accuracy = (*val)["accuracy"].number_in(0, 1);
  return s;
}

}  // namespace kd
