#include "lib/models/resnet.h"

namespace kd {

namespace nn = torch::nn;
namespace F = torch::nn::functional;

namespace {
nn::Conv2d conv3x3(int64_t in, int64_t out, int64_t stride) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, 3).stride(stride).padding(1).bias(false));
}
}  // namespace

BasicBlockImpl::BasicBlockImpl(int64_t in, int64_t out, int64_t stride)
    : pad_channels_(out - in), stride_(stride) {
  conv1_ = register_module("conv1", conv3x3(in, out, stride));
  bn1_ = register_module("bn1", nn::BatchNorm2d(out));
  conv2_ = register_module("conv2", conv3x3(out, out, 1));
  bn2_ = register_module("bn2", nn::BatchNorm2d(out));
}

torch::Tensor BasicBlockImpl::forward(const torch::Tensor& x) {
  torch::Tensor h = torch::relu(bn1_->forward(conv1_->forward(x)));
  h = bn2_->forward(conv2_->forward(h));
  torch::Tensor shortcut = x;
  if (stride_ > 1) {
    shortcut = shortcut.slice(2, 0, c10::nullopt, stride_).slice(3, 0, c10::nullopt, stride_);
  }
  if (pad_channels_ > 0) {
    const int64_t before = pad_channels_ / 2;
    shortcut = F::pad(shortcut, F::PadFuncOptions({0, 0, 0, 0, before, pad_channels_ - before}));
  }
  return torch::relu(h + shortcut);
}

std::string BasicBlockImpl::script(TorchScriptWriter& w, const std::string& x,
                                   const std::string& path) const {
  std::string h = w.relu(w.batch_norm(w.conv2d(x, path + ".conv1", *conv1_), path + ".bn1", *bn1_));
  h = w.batch_norm(w.conv2d(h, path + ".conv2", *conv2_), path + ".bn2", *bn2_);
  std::string shortcut = x;
  if (stride_ > 1) {
    const std::string s = std::to_string(stride_);
    shortcut = w.let(shortcut + "[:, :, ::" + s + ", ::" + s + "]");
  }
  if (pad_channels_ > 0) {
    const int64_t before = pad_channels_ / 2;
    shortcut =
        w.let("torch.constant_pad_nd(" + shortcut + ", [0, 0, 0, 0, " + std::to_string(before) +
              ", " + std::to_string(pad_channels_ - before) + "], 0.0)");
  }
  return w.relu(h + " + " + shortcut);
}

ResNetImpl::ResNetImpl(const ResNetOptions& options) {
  const int64_t n = (options.depth() - 2) / 6;
  stem_ = register_module("stem", conv3x3(options.input().channels, 16, 1));
  stem_bn_ = register_module("stem_bn", nn::BatchNorm2d(16));
  blocks_ = nn::Sequential();
  int64_t in = 16;
  for (int64_t stage = 0; stage < 3; ++stage) {
    const int64_t out = 16 << stage;
    for (int64_t b = 0; b < n; ++b) {
      blocks_->push_back(BasicBlock(in, out, (stage > 0 && b == 0) ? 2 : 1));
      in = out;
    }
  }
  register_module("blocks", blocks_);
  set_head(in, options.classes());
}

torch::Tensor ResNetImpl::features(const torch::Tensor& x) {
  torch::Tensor h = torch::relu(stem_bn_->forward(stem_->forward(x)));
  h = blocks_->forward(h);
  return h.mean({2, 3});
}

std::string ResNetImpl::script_features(TorchScriptWriter& w, const std::string& x) const {
  std::string h = w.relu(w.batch_norm(w.conv2d(x, "stem", *stem_), "stem_bn", *stem_bn_));
  for (std::size_t i = 0; i < blocks_->size(); ++i) {
    h = blocks_->ptr(i)->as<BasicBlockImpl>()->script(w, h, "blocks." + std::to_string(i));
  }
  return w.let("torch.mean(" + h + ", [2, 3])");
}

}  // namespace kd
