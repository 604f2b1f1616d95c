#include "lib/train/stage_result.h"

#include "lib/core/runtime.h"

namespace kd {

namespace {

nlohmann::json epoch_json(const EpochRecord& e) {
  const EpochStats& s = e.stats;
  nlohmann::json row = {
      {"epoch", s.epoch}, {"loss", s.loss},       {"train_accuracy", s.accuracy},
      {"lr", s.lr},       {"seconds", s.seconds}, {"images_per_second", s.images_per_second}};
  if (e.mutual_information) row["mutual_information"] = *e.mutual_information;
  if (e.val_accuracy) row["val_accuracy"] = *e.val_accuracy;
  return row;
}

nlohmann::json model_json(const ModelRecord& m) {
  nlohmann::json j = {
      {"arch", m.arch}, {"checkpoint", m.checkpoint}, {"checkpoint_hash", m.checkpoint_hash}};
  if (m.source != "kdpipe") j["source"] = m.source;
  if (m.parameters) j["parameters"] = *m.parameters;
  return j;
}

nlohmann::json timing_json(const Timing& t) {
  nlohmann::json j = {{t.trained ? "train_seconds" : "evaluate_seconds", t.seconds},
                      {"threads", t.threads},
                      {"blas", t.blas},
                      {"device", t.device}};
  if (t.images_per_second) j["images_per_second"] = *t.images_per_second;
  return j;
}

}  // namespace

nlohmann::json to_json(const Evaluation& e) {
  nlohmann::json out;
  out["test"] = e.test;
  if (!e.predictions.empty()) out["test"]["predictions"] = e.predictions;
  if (e.val) out["val"] = *e.val;
  if (e.scaling) {
    out["temperature_scaling"] = {{"temperature", e.scaling->temperature},
                                  {"fitted_on", "val"},
                                  {"test_ece", e.scaling->test.ece},
                                  {"test_nll", e.scaling->test.nll},
                                  {"test_reliability", e.scaling->test.bins}};
  }
  out["train"] = {
      {"accuracy", e.train_accuracy}, {"stability", e.stability}, {"gamma", e.train_gamma}};
  return out;
}

nlohmann::json stage_json(const StageResult& r) {
  nlohmann::json j = to_json(r.evaluation);
  j["kind"] = r.kind;
  j["kdpipe_version"] = version();
  j["created"] = utc_timestamp();
  j["target_gamma"] = r.target_gamma;
  j["model"] = model_json(r.model);
  j["epochs"] = nlohmann::json::array();
  for (const EpochRecord& e : r.epochs) j["epochs"].push_back(epoch_json(e));
  j["timing"] = timing_json(r.timing);
  return j;
}

}  // namespace kd
