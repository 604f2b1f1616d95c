// The interface every model of the zoo implements: logits, and the penultimate activations
// that the final linear layer reads (the report projects them onto class templates).
#pragma once

#include <torch/torch.h>

#include <string>

#include "lib/data/image_set.h"
#include "lib/models/torchscript_writer.h"

namespace kd {

class ClassifierImpl : public torch::nn::Module {
 public:
  /// Penultimate activations [B, D].
  virtual torch::Tensor features(const torch::Tensor& x) = 0;
  /// Writes TorchScript statements that compute features() of the variable `x`; returns the
  /// variable holding them (see TorchScriptWriter). ConfigError for models that cannot.
  virtual std::string script_features(TorchScriptWriter& w, const std::string& x) const;
  /// Logits [B, classes].
  virtual torch::Tensor forward(const torch::Tensor& x) { return head_->forward(features(x)); }
  /// The final layer: row k of its weight (with bias k) is the template of class k.
  torch::nn::Linear head() const { return head_; }

 protected:
  /// Registers the final layer once the subclass knows its feature width.
  void set_head(int64_t features, int64_t classes) {
    head_ = register_module("head", torch::nn::Linear(features, classes));
  }
  /// Uses `head` as the final layer without registering it: its tensors are registered already
  /// (a TorchScript module's own, see ScriptedClassifierImpl).
  void share_head(torch::nn::Linear head) { head_ = std::move(head); }

 private:
  torch::nn::Linear head_{nullptr};
};

inline std::string ClassifierImpl::script_features(TorchScriptWriter&, const std::string&) const {
  throw std::logic_error(name() + " cannot be written as TorchScript");
}

using Classifier = std::shared_ptr<ClassifierImpl>;

}  // namespace kd
