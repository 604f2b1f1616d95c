// Fully connected ReLU network on flattened images (the MNIST nets of Hinton et al. and
// Müller et al. appendix A.5).
#pragma once

#include <vector>

#include "lib/models/classifier.h"

namespace kd {

struct MlpOptions {
  MlpOptions(InputShape input, std::vector<int64_t> hidden, int64_t classes)
      : input_(input), hidden_(std::move(hidden)), classes_(classes) {}
  TORCH_ARG(InputShape, input);
  /// Widths of the hidden layers, in order.
  TORCH_ARG(std::vector<int64_t>, hidden);
  TORCH_ARG(int64_t, classes);
};

class MlpImpl : public ClassifierImpl {
 public:
  explicit MlpImpl(const MlpOptions& options);
  torch::Tensor features(const torch::Tensor& x) override;
  std::string script_features(TorchScriptWriter& w, const std::string& x) const override;

 private:
  torch::nn::ModuleList layers_;
};

}  // namespace kd
