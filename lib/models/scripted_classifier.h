// A classifier saved as TorchScript (the way a model from Python arrives), behind the Classifier
// interface: its forward gives the logits; it has no penultimate layer that kdpipe can see, so
// features() and head() are unavailable. Its parameters and buffers are this module's too (the
// same tensors, under names with '.' written '_'), so the trainer trains them and the module
// computes with what was trained; train() and eval() switch the module's own mode (dropout,
// BatchNorm behave as in Python).
#pragma once

#include <torch/script.h>
#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "lib/data/image_set.h"
#include "lib/models/classifier.h"

namespace kd {

class ScriptedClassifierImpl : public ClassifierImpl {
 public:
  /// Loads `path` onto `device`; DataError naming the file when it is not a TorchScript module.
  /// Messages name it as `label` ("--arch 'torchscript:F'"; by default "--torchscript F").
  explicit ScriptedClassifierImpl(const std::filesystem::path& path,
                                  const torch::Device& device = torch::kCPU,
                                  std::string label = "");

  torch::Tensor forward(const torch::Tensor& x) override;
  /// ConfigError: a TorchScript module exposes no penultimate activations.
  torch::Tensor features(const torch::Tensor& x) override;
  /// ConfigError: the module is TorchScript already; kdpipe does not rewrite it.
  std::string script_features(TorchScriptWriter& w, const std::string& x) const override;
  void train(bool on = true) override;
  using torch::nn::Module::to;
  void to(torch::Device device, bool non_blocking = false) override;

  /// ConfigError naming the file unless the module maps a batch of `info`'s images to one logit
  /// per class: a TorchScript module says nothing of its input, so this runs one small batch.
  void check_compatible(const DatasetInfo& info) const;

  /// The same for a batch of `input` images and `classes` logits (see make_model).
  void check_compatible(const InputShape& input, int64_t classes) const;

  /// Draws new values, from LibTorch's generator, for the parameters of the layer types whose
  /// initialisation PyTorch defines (Linear, Conv1d/2d/3d, BatchNorm1d/2d/3d, LayerNorm,
  /// GroupNorm, Embedding; the module's type name says which), as PyTorch draws them, and resets
  /// BatchNorm's running statistics. Returns the names of the parameters it kept as the file
  /// holds them (those of other layers).
  std::vector<std::string> reinitialise();

  /// The module, with its current weights, as TorchScript archive bytes holding `extra` files
  /// beside it (read back by torch.jit.load(..., _extra_files=...)).
  std::string serialized(const std::map<std::string, std::string>& extra) const;

  const std::filesystem::path& path() const { return path_; }

  /// What reinitialise() kept, as the caller recorded it, for one line in the log.
  void keep_note(std::vector<std::string> kept) { kept_ = std::move(kept); }
  const std::vector<std::string>& kept() const { return kept_; }

 private:
  std::filesystem::path path_;
  std::string label_;
  std::vector<std::string> kept_;
  mutable torch::jit::Module module_;
};

/// A TorchScript classifier, loaded onto `device` and in evaluation mode.
std::shared_ptr<ScriptedClassifierImpl> load_torchscript(const std::filesystem::path& path,
                                                         const torch::Device& device = torch::kCPU);

}  // namespace kd
