// A classifier saved as TorchScript (the way a model from Python arrives), behind the Classifier
// interface: its forward gives the logits. Its penultimate layer is visible to kdpipe (for the
// report's projection figure) when the module follows the convention of kdpipe's zoo: a method
// `features(x)` giving the penultimate activations [B, D] and a torch.nn.Linear submodule named
// `head` mapping them to the logits (forward(x) == head(features(x)) in eval mode); otherwise
// features() and head() are unavailable and penultimate_note() says why. Its parameters and buffers
// are this module's too (the same tensors, under names with '.' written '_'), so the trainer trains
// them and the module computes with what was trained; train() and eval() switch the module's own
// mode (dropout, BatchNorm behave as in Python).
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
  /// The module's features(x); ConfigError (penultimate_note()) when it has none kdpipe can use.
  torch::Tensor features(const torch::Tensor& x) override;
  /// Why features() and head() are unavailable, in one line; "" when they are.
  const std::string& penultimate_note() const { return penultimate_note_; }
  /// ConfigError: the module is TorchScript already; kdpipe does not rewrite it.
  std::string script_features(TorchScriptWriter& w, const std::string& x) const override;
  void train(bool on = true) override;
  using torch::nn::Module::to;
  void to(torch::Device device, bool non_blocking = false) override;

  /// ConfigError naming the file unless the module maps a batch of `info`'s images to one logit
  /// per class: a TorchScript module says nothing of its input, so this runs one small batch.
  /// The same batch checks the features/head convention (see above): a module that breaks it
  /// keeps its logits but shows no penultimate layer.
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

  /// A copy of the module and of its type (its trained weights, its methods), for export to extend.
  torch::jit::Module module_copy() const { return module_.clone(); }

  const std::filesystem::path& path() const { return path_; }

  /// What reinitialise() kept, as the caller recorded it, for one line in the log.
  void keep_note(std::vector<std::string> kept) { kept_ = std::move(kept); }
  const std::vector<std::string>& kept() const { return kept_; }

 private:
  /// Shares the module's `head` as head() when the module has features(x) and a Linear `head`.
  void find_penultimate();
  /// Clears the features/head convention when head(features(batch)) is not `logits`.
  void check_penultimate(const torch::Tensor& batch, const torch::Tensor& logits) const;

  std::filesystem::path path_;
  std::string label_;
  mutable std::string penultimate_note_;
  std::vector<std::string> kept_;
  mutable torch::jit::Module module_;
};

/// "Linear" for "__torch__.torch.nn.modules.linear.Linear" (or "…linear.___torch_mangle_3.Linear"):
/// the torch.nn layer type a scripted submodule is; "" for any other module.
std::string torch_layer(const torch::jit::Module& m);

/// A TorchScript classifier, loaded onto `device` and in evaluation mode.
std::shared_ptr<ScriptedClassifierImpl> load_torchscript(const std::filesystem::path& path,
                                                         const torch::Device& device = torch::kCPU);

}  // namespace kd
