// The penultimate-layer picture of Müller et al. (fig. 1): logit k is xᵀwₖ with x the activations
// with a 1 appended and wₖ the final layer's row k with its bias, so it behaves like a negative
// squared distance to the template wₖ. Three classes' templates span a plane; projecting the
// activations onto it shows how tightly each class clusters.
#pragma once

#include <torch/torch.h>

#include <array>

namespace kd {

struct TemplatePlane {
  torch::Tensor origin;  ///< [D+1]: the first class's template
  torch::Tensor basis;   ///< [2, D+1]: orthonormal, spanning the three templates
};

/// The plane through templates a, b, c of a final layer with `weight` [K, D] and `bias` [K].
TemplatePlane template_plane(const torch::Tensor& weight, const torch::Tensor& bias,
                             const std::array<int64_t, 3>& classes);

/// 2-d coordinates [N, 2] of activations `features` [N, D] (a 1 is appended) in `plane`.
torch::Tensor project(const TemplatePlane& plane, const torch::Tensor& features);

}  // namespace kd
