// The arithmetic of one forward pass, counted from the operators LibTorch actually runs: matrix
// products (2·m·k·n) and convolutions (2 multiply-adds per weight and output position). Works for
// any model, TorchScript ones included, because it observes LibTorch's dispatcher, not the
// model's code. Element-wise work (activations, batch norm, pooling) is not counted: it is small
// next to the products and is not what the sgemm rate measures.
#pragma once

#include <torch/torch.h>

#include <functional>

#include "lib/models/classifier.h"

namespace kd {

/// FLOPs of `forward(example)`, with `example` a batch of one.
double forward_flops(const std::function<torch::Tensor(const torch::Tensor&)>& forward,
                     const torch::Tensor& example);

/// FLOPs of one image through `model` (taking [1, C, H, W] inputs), counted in evaluation mode
/// without gradients; the model's mode is restored and its state left untouched.
double forward_flops(const Classifier& model, const InputShape& input);

}  // namespace kd
