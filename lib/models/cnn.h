// A small convolutional network: three conv-BN-ReLU stages of widths W, 2W, 4W, the first two
// followed by 2x2 max pooling, then global average pooling.
#pragma once

#include "lib/models/classifier.h"

namespace kd {

struct CnnOptions {
  CnnOptions(InputShape input, int64_t width, int64_t classes)
      : input_(input), width_(width), classes_(classes) {}
  TORCH_ARG(InputShape, input);
  /// Channels of the first stage; each later stage doubles it.
  TORCH_ARG(int64_t, width);
  TORCH_ARG(int64_t, classes);
};

class CnnImpl : public ClassifierImpl {
 public:
  explicit CnnImpl(const CnnOptions& options);
  torch::Tensor features(const torch::Tensor& x) override;
  std::string script_features(TorchScriptWriter& w, const std::string& x) const override;

 private:
  torch::nn::Sequential body_{nullptr};
};

}  // namespace kd
