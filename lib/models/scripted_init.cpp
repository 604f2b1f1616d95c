// Seeds for TorchScript models: each layer type PyTorch initialises is initialised here as
// PyTorch's reset_parameters() does it, so that a seed means for a model from Python what it means
// for a zoo model.
#include <torch/script.h>

#include <cmath>

#include "lib/models/scripted_classifier.h"

namespace kd {

std::string torch_layer(const torch::jit::Module& m) {
  const auto name = m.type()->name();
  if (!name) return "";
  const std::string q = name->qualifiedName();
  if (q.rfind("__torch__.torch.nn.modules.", 0) != 0) return "";
  return q.substr(q.rfind('.') + 1);
}

namespace {

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// Linear and ConvNd: weight ~ kaiming_uniform(a = √5), bias ~ U(±1/√fan_in).
void init_weighted(const torch::jit::Module& m) {
  torch::Tensor w = m.attr("weight").toTensor();
  torch::nn::init::kaiming_uniform_(w, std::sqrt(5.0));
  const torch::IValue bias = m.attr("bias");
  if (bias.isTensor()) {
    const int64_t fan_in = w.numel() / w.size(0);
    const double bound = fan_in > 0 ? 1.0 / std::sqrt(static_cast<double>(fan_in)) : 0.0;
    torch::Tensor b = bias.toTensor();
    torch::nn::init::uniform_(b, -bound, bound);
  }
}

// BatchNorm, LayerNorm, GroupNorm: weight 1, bias 0; BatchNorm's running statistics reset.
void init_norm(const torch::jit::Module& m) {
  for (const auto& p : m.named_parameters(/*recurse=*/false)) {
    torch::Tensor t = p.value;
    p.name == "weight" ? t.fill_(1) : t.zero_();
  }
  for (const auto& b : m.named_buffers(/*recurse=*/false)) {
    torch::Tensor t = b.value;
    b.name == "running_var" ? t.fill_(1) : t.zero_();
  }
}

void init_embedding(const torch::jit::Module& m) {
  torch::Tensor w = m.attr("weight").toTensor();
  torch::nn::init::normal_(w);
  const torch::IValue pad = m.hasattr("padding_idx") ? m.attr("padding_idx") : torch::IValue();
  if (pad.isInt()) w[pad.toInt()].zero_();
}

// Whether `layer` is initialised here (and then initialises `m`).
bool initialise(const std::string& layer, const torch::jit::Module& m) {
  if (layer == "Linear" || starts_with(layer, "Conv")) {
    init_weighted(m);
  } else if (starts_with(layer, "BatchNorm") || layer == "LayerNorm" || layer == "GroupNorm") {
    init_norm(m);
  } else if (layer == "Embedding") {
    init_embedding(m);
  } else {
    return false;
  }
  return true;
}

}  // namespace

std::vector<std::string> ScriptedClassifierImpl::reinitialise() {
  torch::NoGradGuard no_grad;
  std::vector<std::string> kept;
  for (const auto& item : module_.named_modules()) {
    if (initialise(torch_layer(item.value), item.value)) continue;
    for (const auto& p : item.value.named_parameters(/*recurse=*/false)) {
      kept.push_back(item.name.empty() ? p.name : item.name + "." + p.name);
    }
  }
  return kept;
}

}  // namespace kd
