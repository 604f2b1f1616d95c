#include "lib/metrics/calibration.h"

#include <cmath>

namespace kd {

CalibrationMeter::CalibrationMeter(int bins)
    : bins_(bins), bin_count_(bins, 0), bin_confidence_(bins, 0.0), bin_correct_(bins, 0) {
  TORCH_CHECK(bins > 0, "calibration needs at least one bin");
}

void CalibrationMeter::add(const torch::Tensor& logits, const torch::Tensor& labels,
                           double temperature) {
  const torch::Tensor z = logits.detach().to(torch::kCPU, torch::kFloat64) / temperature;
  const torch::Tensor y = labels.to(torch::kCPU, torch::kInt64);
  const torch::Tensor log_p = torch::log_softmax(z, 1);
  nll_sum_ -= log_p.gather(1, y.unsqueeze(1)).sum().item<double>();
  auto [top_log_p, pred] = log_p.max(1);
  const torch::Tensor conf = top_log_p.exp().contiguous();
  const torch::Tensor hit = pred.eq(y).contiguous();
  const double* c = conf.data_ptr<double>();
  const bool* h = hit.data_ptr<bool>();
  for (int64_t i = 0; i < conf.numel(); ++i) {
    // Bin b holds confidences in (b/M, (b+1)/M]; confidence is always > 0.
    int b = static_cast<int>(std::ceil(c[i] * bins_)) - 1;
    b = std::min(std::max(b, 0), bins_ - 1);
    ++bin_count_[b];
    bin_confidence_[b] += c[i];
    bin_correct_[b] += h[i];
    correct_ += h[i];
  }
  count_ += conf.numel();
}

CalibrationReport CalibrationMeter::report() const {
  CalibrationReport r;
  r.count = count_;
  if (count_ == 0) return r;
  r.accuracy = static_cast<double>(correct_) / count_;
  r.nll = nll_sum_ / count_;
  for (int b = 0; b < bins_; ++b) {
    ReliabilityBin bin;
    bin.lower = static_cast<double>(b) / bins_;
    bin.upper = static_cast<double>(b + 1) / bins_;
    bin.count = bin_count_[b];
    if (bin.count > 0) {
      bin.confidence = bin_confidence_[b] / bin.count;
      bin.accuracy = static_cast<double>(bin_correct_[b]) / bin.count;
      r.ece += static_cast<double>(bin.count) / count_ * std::abs(bin.accuracy - bin.confidence);
    }
    r.bins.push_back(bin);
  }
  return r;
}

CalibrationReport calibration(const torch::Tensor& logits, const torch::Tensor& labels,
                              double temperature, int bins) {
  CalibrationMeter meter(bins);
  meter.add(logits, labels, temperature);
  return meter.report();
}

double fit_temperature(const torch::Tensor& logits, const torch::Tensor& labels) {
  const torch::Tensor z = logits.detach().to(torch::kCPU, torch::kFloat64);
  const torch::Tensor y = labels.to(torch::kCPU, torch::kInt64).unsqueeze(1);
  auto nll = [&](double beta) {  // beta = 1 / T
    return -torch::log_softmax(z * beta, 1).gather(1, y).mean().item<double>();
  };
  double lo = 1.0 / 20.0, hi = 1.0 / 0.05;
  const double phi = (std::sqrt(5.0) - 1.0) / 2.0;
  double a = hi - phi * (hi - lo), b = lo + phi * (hi - lo);
  double fa = nll(a), fb = nll(b);
  while (hi - lo > 1e-6 * (1.0 + lo)) {
    if (fa < fb) {
      hi = b, b = a, fb = fa;
      a = hi - phi * (hi - lo), fa = nll(a);
    } else {
      lo = a, a = b, fa = fb;
      b = lo + phi * (hi - lo), fb = nll(b);
    }
  }
  return 1.0 / (0.5 * (lo + hi));
}

void to_json(nlohmann::json& j, const ReliabilityBin& bin) {
  j = {{"lower", bin.lower},
       {"upper", bin.upper},
       {"count", bin.count},
       {"confidence", bin.confidence},
       {"accuracy", bin.accuracy}};
}

void to_json(nlohmann::json& j, const CalibrationReport& r) {
  j = {{"count", r.count},
       {"accuracy", r.accuracy},
       {"nll", r.nll},
       {"ece", r.ece},
       {"reliability", r.bins}};
}

}  // namespace kd
