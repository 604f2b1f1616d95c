// TorchScript source for a zoo model, written statement by statement. Each family describes its
// features() with these helpers (ClassifierImpl::script_features); lib/models/export turns the
// text and the model's weights into a torch::jit::Module that Python's torch.jit.load reads.
//
// Parameters and buffers are named as named_parameters() / named_buffers() name them, with '.'
// replaced by '_' ("layers.0.weight" → self.layers_0_weight). Every helper calls the ATen op the
// LibTorch module's forward calls, with the same arguments, so exported logits equal kdpipe's.
#pragma once

#include <torch/torch.h>

#include <string>

namespace kd {

class TorchScriptWriter {
 public:
  /// The exported module's name of a parameter or buffer: "layers.0.weight" → "layers_0_weight".
  static std::string member_name(const std::string& path);
  /// The same, as TorchScript source reads it: "self.layers_0_weight".
  static std::string attribute(const std::string& path) { return "self." + member_name(path); }

  /// Emits `name = expr` under a fresh name and returns the name.
  std::string let(const std::string& expr);

  std::string relu(const std::string& x);
  std::string linear(const std::string& x, const std::string& path);
  std::string conv2d(const std::string& x, const std::string& path,
                     const torch::nn::Conv2dImpl& conv);
  std::string batch_norm(const std::string& x, const std::string& path,
                         const torch::nn::BatchNorm2dImpl& bn);
  std::string max_pool2d(const std::string& x, const torch::nn::MaxPool2dImpl& pool);
  std::string local_response_norm(const std::string& x,
                                  const torch::nn::LocalResponseNormImpl& lrn);
  /// Each module of `seq` in order: Linear, Conv2d, BatchNorm2d, ReLU, MaxPool2d,
  /// LocalResponseNorm, AdaptiveAvgPool2d(1) and Flatten. ConfigError for any other module.
  std::string sequential(const std::string& x, const std::string& path,
                         const torch::nn::Sequential& seq);

  /// The statements so far, indented as a method body.
  const std::string& body() const { return body_; }

 private:
  std::string body_;
  int next_ = 0;
};

}  // namespace kd
