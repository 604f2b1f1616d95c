// Running a trained model over a whole set, in evaluation mode and without gradients.
#pragma once

#include <torch/torch.h>

#include "lib/data/augment.h"
#include "lib/data/image_set.h"
#include "lib/models/classifier.h"

namespace kd {

struct PredictOptions {
  TORCH_ARG(int64_t, batch_size) = 500;
  TORCH_ARG(torch::Device, device) = torch::kCPU;
  /// Augmentation of the inputs (none: the images as they are).
  TORCH_ARG(Augment, augment) = Augment::none;
  TORCH_ARG(std::uint64_t, seed) = 0;
  /// Augmentation stream (the view).
  TORCH_ARG(std::uint64_t, stream) = 0;
  /// The examples' ids for their augmentation draws, int64 [set.size()], when `set` is a subset
  /// of the split the draws are defined on (undefined: the rows themselves).
  TORCH_ARG(torch::Tensor, ids);
};

struct Predictions {
  torch::Tensor logits;    ///< float [N, K] on the CPU
  torch::Tensor features;  ///< float [N, D] penultimate activations, when asked for
};

/// Logits (and optionally penultimate features) of `model` for the examples at `rows` of `set`
/// (all of them when `rows` is undefined). Leaves the model in evaluation mode.
Predictions predict(const Classifier& model, const ImageSet& set, const DatasetInfo& info,
                    const PredictOptions& options, const torch::Tensor& rows = {},
                    bool with_features = false);

}  // namespace kd
