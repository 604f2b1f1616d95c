#include "lib/train/classifier_metrics.h"

#include "lib/core/hash.h"
#include "lib/metrics/calibration.h"
#include "lib/metrics/information.h"
#include "lib/models/zoo.h"

namespace kd {

nlohmann::json evaluate_classifier(const Classifier& model, const Dataset& data,
                                   const PredictOptions& options) {
  nlohmann::json out;
  const torch::Tensor test_logits = predict(model, data.test, data.info, options).logits;
  out["test"] = calibration(test_logits, data.test.labels);
  if (data.val.size() > 0) {
    const torch::Tensor val_logits = predict(model, data.val, data.info, options).logits;
    out["val"] = calibration(val_logits, data.val.labels);
    const double t = fit_temperature(val_logits, data.val.labels);
    const CalibrationReport scaled = calibration(test_logits, data.test.labels, t);
    out["temperature_scaling"] = {{"temperature", t},
                                  {"fitted_on", "val"},
                                  {"test_ece", scaled.ece},
                                  {"test_nll", scaled.nll},
                                  {"test_reliability", scaled.bins}};
  }
  const torch::Tensor train_logits = predict(model, data.train, data.info, options).logits;
  const torch::Tensor train_probs = torch::softmax(train_logits.to(torch::kFloat64), 1);
  out["train"] = {{"accuracy", calibration(train_logits, data.train.labels).accuracy},
                  {"stability", stability(train_probs, data.train.labels)},
                  {"gamma", target_smoothness(train_probs, data.train.labels)}};
  return out;
}

nlohmann::json checkpoint_record(const Classifier& model, const std::string& arch,
                                 const std::filesystem::path& checkpoint) {
  return {{"arch", arch},
          {"parameters", parameter_count(*model)},
          {"checkpoint", checkpoint.filename().string()},
          {"checkpoint_hash", hash_file(checkpoint)}};
}

}  // namespace kd
