// Accuracy, negative log-likelihood and expected calibration error (Guo et al. 2017), and
// temperature scaling. CalibrationMeter accumulates batch by batch.
#pragma once

#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <vector>

namespace kd {

/// One bin of a reliability diagram: predictions whose confidence lies in [lower, upper).
struct ReliabilityBin {
  double lower = 0;
  double upper = 0;
  int64_t count = 0;
  double confidence = 0;  ///< mean top-1 probability in the bin (0 when empty)
  double accuracy = 0;    ///< fraction correct in the bin (0 when empty)
};

struct CalibrationReport {
  int64_t count = 0;
  double accuracy = 0;
  double nll = 0;  ///< mean negative log-likelihood of the true label, in nats
  double ece = 0;  ///< sum over bins of (count / N) * |accuracy - confidence|
  std::vector<ReliabilityBin> bins;
};

class CalibrationMeter {
 public:
  explicit CalibrationMeter(int bins = 15);
  /// Adds a batch of logits [B, K] with labels [B]; `temperature` divides the logits first.
  void add(const torch::Tensor& logits, const torch::Tensor& labels, double temperature = 1.0);
  CalibrationReport report() const;

 private:
  int bins_;
  int64_t count_ = 0;
  int64_t correct_ = 0;
  double nll_sum_ = 0;
  std::vector<int64_t> bin_count_;
  std::vector<double> bin_confidence_;
  std::vector<int64_t> bin_correct_;
};

/// Calibration of a whole set of logits at once.
CalibrationReport calibration(const torch::Tensor& logits, const torch::Tensor& labels,
                              double temperature = 1.0, int bins = 15);

/// The temperature T in [0.05, 20] that minimises the NLL of softmax(logits / T) (Guo et al.'s
/// temperature scaling). NLL is convex in 1/T, so a golden-section search finds the optimum.
double fit_temperature(const torch::Tensor& logits, const torch::Tensor& labels);

void to_json(nlohmann::json& j, const ReliabilityBin& bin);
void to_json(nlohmann::json& j, const CalibrationReport& report);
}  // namespace kd
