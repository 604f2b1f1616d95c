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

double target_smoothness(const torch::Tensor& probs, const torch::Tensor& labels) {
  const torch::Tensor p = probs.detach().to(torch::kCPU, torch::kFloat64);
  const int64_t k = p.size(1);
  TORCH_CHECK(k >= 2, "target_smoothness needs at least two classes");
  const torch::Tensor true_mass = p.gather(1, labels.to(torch::kCPU, torch::kInt64).unsqueeze(1));
  return (1.0 - true_mass).mean().item<double>() * static_cast<double>(k) / (k - 1);
}

double stability(const torch::Tensor& probs, const torch::Tensor& labels) {
  const torch::Tensor p = probs.detach().to(torch::kCPU, torch::kFloat64);
  const torch::Tensor y = labels.to(torch::kCPU, torch::kInt64);
  double spread = 0;
  int64_t classes = 0;
  for (int64_t c = 0; c < p.size(1); ++c) {
    const torch::Tensor members = p.index({y.eq(c)});
    if (members.size(0) == 0) continue;
    const torch::Tensor centre = members.mean(0, /*keepdim=*/true);
    spread += (members - centre).pow(2).sum(1).mean().item<double>();
    ++classes;
  }
  return classes == 0 ? 1.0 : 1.0 - spread / classes;
}

}  // namespace kd
