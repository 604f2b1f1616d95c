// A classifier trained elsewhere and saved as TorchScript (the way a model from Python arrives),
// behind the Classifier interface: its forward gives the logits; it has no penultimate layer that
// kdpipe can see, so features() and head() are unavailable.
#pragma once

#include <torch/script.h>
#include <torch/torch.h>

#include <filesystem>

#include "lib/data/image_set.h"
#include "lib/models/classifier.h"

namespace kd {

class ScriptedClassifierImpl : public ClassifierImpl {
 public:
  /// Loads `path` onto `device`; DataError naming the file when it is not a TorchScript module.
  explicit ScriptedClassifierImpl(const std::filesystem::path& path,
                                  const torch::Device& device = torch::kCPU);

  torch::Tensor forward(const torch::Tensor& x) override;
  /// ConfigError: a TorchScript module exposes no penultimate activations.
  torch::Tensor features(const torch::Tensor& x) override;
  void train(bool on = true) override;
  using torch::nn::Module::to;
  void to(torch::Device device, bool non_blocking = false) override;

  /// ConfigError naming the file unless the module maps a batch of `info`'s images to one logit
  /// per class: a TorchScript module says nothing of its input, so this runs one small batch.
  void check_compatible(const DatasetInfo& info) const;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  mutable torch::jit::Module module_;
};

/// A TorchScript classifier, loaded onto `device` and in evaluation mode.
std::shared_ptr<ScriptedClassifierImpl> load_torchscript(const std::filesystem::path& path,
                                                         const torch::Device& device = torch::kCPU);

}  // namespace kd
