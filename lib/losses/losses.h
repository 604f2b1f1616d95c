// Training losses, as batch means.
#pragma once

#include <torch/torch.h>

namespace kd {

/// Cross-entropy against the label-smoothed target (1 - eps) * one_hot(y) + eps / K
/// (Szegedy et al. 2016; Müller et al. 2019). eps = 0 is plain cross-entropy.
torch::Tensor smoothed_cross_entropy(const torch::Tensor& logits, const torch::Tensor& labels,
                                     double eps);

/// Cross-entropy -sum_k q_k log softmax(z)_k against a full target distribution q [B, K].
torch::Tensor soft_cross_entropy(const torch::Tensor& logits, const torch::Tensor& target);

}  // namespace kd
