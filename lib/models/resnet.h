// The CIFAR ResNets of He et al. (2016, section 4.2): a 3x3 conv of 16 channels, three stages of
// n basic blocks with 16, 32 and 64 channels (depth = 6n + 2), global average pooling. Shortcuts
// that change shape subsample and zero-pad channels (their option A), so depth-20/32/56 have
// the paper's parameter counts.
#pragma once

#include "lib/models/classifier.h"

namespace kd {

struct ResNetOptions {
  ResNetOptions(InputShape input, int64_t depth, int64_t classes)
      : input_(input), depth_(depth), classes_(classes) {}
  TORCH_ARG(InputShape, input);
  /// 20, 32, 56, ... (6n + 2).
  TORCH_ARG(int64_t, depth);
  TORCH_ARG(int64_t, classes);
};

class BasicBlockImpl : public torch::nn::Module {
 public:
  BasicBlockImpl(int64_t in, int64_t out, int64_t stride);
  torch::Tensor forward(const torch::Tensor& x);
  /// forward() as TorchScript, for the block whose parameters are under `path`.
  std::string script(TorchScriptWriter& w, const std::string& x, const std::string& path) const;

 private:
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr};
  int64_t pad_channels_ = 0;
  int64_t stride_ = 1;
};
TORCH_MODULE(BasicBlock);

class ResNetImpl : public ClassifierImpl {
 public:
  explicit ResNetImpl(const ResNetOptions& options);
  torch::Tensor features(const torch::Tensor& x) override;
  std::string script_features(TorchScriptWriter& w, const std::string& x) const override;

 private:
  torch::nn::Conv2d stem_{nullptr};
  torch::nn::BatchNorm2d stem_bn_{nullptr};
  torch::nn::Sequential blocks_{nullptr};
};

}  // namespace kd
