// The small CIFAR "AlexNet" Müller et al. use as a student (the TensorFlow CIFAR-10 tutorial
// model): two 5x5 conv layers of 64 channels with ReLU, 3x3/2 max pooling and local response
// normalisation, then fully connected layers of 384 and 192 units.
#pragma once

#include "lib/models/classifier.h"

namespace kd {

struct AlexNetOptions {
  AlexNetOptions(InputShape input, int64_t classes) : input_(input), classes_(classes) {}
  TORCH_ARG(InputShape, input);
  TORCH_ARG(int64_t, classes);
};

class AlexNetImpl : public ClassifierImpl {
 public:
  explicit AlexNetImpl(const AlexNetOptions& options);
  torch::Tensor features(const torch::Tensor& x) override;
  std::string script_features(TorchScriptWriter& w, const std::string& x) const override;

 private:
  torch::nn::Sequential conv_{nullptr};
  torch::nn::Sequential fc_{nullptr};
};

}  // namespace kd
