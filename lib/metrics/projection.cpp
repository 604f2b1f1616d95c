#include "lib/metrics/projection.h"

namespace kd {

TemplatePlane template_plane(const torch::Tensor& weight, const torch::Tensor& bias,
                             const std::array<int64_t, 3>& classes) {
  const torch::Tensor w =
      torch::cat({weight.detach(), bias.detach().unsqueeze(1)}, 1).to(torch::kCPU, torch::kFloat64);
  const torch::Tensor a = w[classes[0]], b = w[classes[1]], c = w[classes[2]];
  // Gram–Schmidt on the two edges from the first template.
  const torch::Tensor e1 = (b - a) / (b - a).norm();
  torch::Tensor e2 = (c - a) - (c - a).dot(e1) * e1;
  e2 = e2 / e2.norm();
  return {a, torch::stack({e1, e2})};
}

torch::Tensor project(const TemplatePlane& plane, const torch::Tensor& features) {
  const torch::Tensor f = features.detach().to(torch::kCPU, torch::kFloat64);
  const torch::Tensor x = torch::cat({f, torch::ones({f.size(0), 1}, torch::kFloat64)}, 1);
  return torch::matmul(x - plane.origin, plane.basis.t());
}

}  // namespace kd
