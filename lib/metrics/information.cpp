#include "lib/metrics/information.h"

#include <cmath>

namespace kd {

double mutual_information(const torch::Tensor& y_in) {
  TORCH_CHECK(y_in.dim() == 2 && y_in.size(0) >= 2 && y_in.size(1) >= 2,
              "mutual_information needs [N >= 2, L >= 2] observations, got ", y_in.sizes());
  const torch::Tensor y = y_in.detach().to(torch::kCPU, torch::kFloat64);
  const int64_t n = y.size(0);
  const torch::Tensor mu = y.mean(1);  // [N]
  const double var = (y - mu.unsqueeze(1)).pow(2).mean().item<double>();
  if (!(var > 0)) {
    // No noise at all: each example is told apart exactly unless two means coincide.
    const torch::Tensor sorted = std::get<0>(mu.sort());
    const int64_t distinct = std::get<0>(torch::unique_consecutive(sorted)).numel();
    return std::log(static_cast<double>(distinct));
  }
  const torch::Tensor obs = y.reshape({-1, 1});  // [N*L, 1]
  const torch::Tensor own = mu.repeat_interleave(y.size(1)).unsqueeze(1);
  const double inv2s2 = 1.0 / (2.0 * var);
  const torch::Tensor log_own = -(obs - own).pow(2) * inv2s2;  // [N*L, 1]
  // log (1/N) Σₓ′ exp(−(y−μₓ′)²/2σ²), computed row block by row block to bound memory.
  torch::Tensor log_mix = torch::empty({obs.size(0)}, torch::kFloat64);
  const int64_t block = 4096;
  for (int64_t s = 0; s < obs.size(0); s += block) {
    const int64_t e = std::min(s + block, obs.size(0));
    const torch::Tensor d = -(obs.slice(0, s, e) - mu.unsqueeze(0)).pow(2) * inv2s2;
    log_mix.slice(0, s, e).copy_(torch::logsumexp(d, 1) - std::log(static_cast<double>(n)));
  }
  return (log_own.squeeze(1) - log_mix).mean().item<double>();
}

ProbabilityMoments::ProbabilityMoments(int64_t classes)
    : count_(torch::zeros({classes}, torch::kFloat64)),
      mean_(torch::zeros({classes, classes}, torch::kFloat64)),
      squares_(torch::zeros({classes}, torch::kFloat64)) {
  TORCH_CHECK(classes >= 2, "target_smoothness and stability need at least two classes");
}

void ProbabilityMoments::add(const torch::Tensor& probs_in, const torch::Tensor& labels_in) {
  const torch::Tensor p = probs_in.detach().to(torch::kCPU, torch::kFloat64);
  const torch::Tensor y = labels_in.to(torch::kCPU, torch::kInt64);
  const int64_t k = count_.size(0);
  TORCH_CHECK(p.dim() == 2 && p.size(1) == k && y.numel() == p.size(0), "probabilities [B, ", k,
              "] and B labels, got ", p.sizes(), " and ", y.sizes());
  if (p.size(0) == 0) return;
  off_true_ += (1.0 - p.gather(1, y.unsqueeze(1))).sum().item<double>();
  rows_ += p.size(0);
  // This block's own count, mean and squared distances per class...
  const torch::Tensor n_b =
      torch::zeros({k}, torch::kFloat64).index_add_(0, y, torch::ones_like(y, torch::kFloat64));
  const torch::Tensor mean_b =
      torch::zeros({k, k}, torch::kFloat64).index_add_(0, y, p) / n_b.clamp_min(1).unsqueeze(1);
  const torch::Tensor squares_b =
      torch::zeros({k}, torch::kFloat64)
          .index_add_(0, y, (p - mean_b.index_select(0, y)).square().sum(1));
  // ...joined to those so far: M = Ma + Mb + ‖m_b − m_a‖² n_a n_b / (n_a + n_b).
  const torch::Tensor n = count_ + n_b;
  const torch::Tensor safe = n.clamp_min(1);
  const torch::Tensor delta = mean_b - mean_;
  squares_ += squares_b + delta.square().sum(1) * count_ * n_b / safe;
  mean_ += delta * (n_b / safe).unsqueeze(1);
  count_ = n;
}

double ProbabilityMoments::smoothness() const {
  const auto k = static_cast<double>(count_.size(0));
  return rows_ == 0 ? 0.0 : off_true_ / static_cast<double>(rows_) * k / (k - 1);
}

double ProbabilityMoments::stability() const {
  const torch::Tensor present = count_ > 0;
  const int64_t classes = present.sum().item<int64_t>();
  if (classes == 0) return 1.0;
  const double spread = (squares_.index({present}) / count_.index({present})).sum().item<double>();
  return 1.0 - spread / static_cast<double>(classes);
}

double target_smoothness(const torch::Tensor& probs, const torch::Tensor& labels) {
  ProbabilityMoments moments(probs.size(1));
  moments.add(probs, labels);
  return moments.smoothness();
}

double stability(const torch::Tensor& probs, const torch::Tensor& labels) {
  ProbabilityMoments moments(probs.size(1));
  moments.add(probs, labels);
  return moments.stability();
}

}  // namespace kd
