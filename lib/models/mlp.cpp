#include "lib/models/mlp.h"

namespace kd {

MlpImpl::MlpImpl(const MlpOptions& options) {
  const InputShape& in = options.input();
  int64_t width = in.channels * in.height * in.width;
  layers_ = register_module("layers", torch::nn::ModuleList());
  for (int64_t hidden : options.hidden()) {
    layers_->push_back(torch::nn::Linear(width, hidden));
    width = hidden;
  }
  set_head(width, options.classes());
}

torch::Tensor MlpImpl::features(const torch::Tensor& x) {
  torch::Tensor h = x.flatten(1);
  for (const auto& layer : *layers_) h = torch::relu(layer->as<torch::nn::Linear>()->forward(h));
  return h;
}

std::string MlpImpl::script_features(TorchScriptWriter& w, const std::string& x) const {
  std::string h = w.let("torch.flatten(" + x + ", 1, -1)");
  for (std::size_t i = 0; i < layers_->size(); ++i) {
    h = w.relu(w.linear(h, "layers." + std::to_string(i)));
  }
  return h;
}

}  // namespace kd
