#include "lib/models/alexnet.h"

namespace kd {

namespace nn = torch::nn;

namespace {
// TensorFlow's lrn(depth_radius=4, bias=1, alpha=0.001/9, beta=0.75); LibTorch divides alpha
// by the window size, TensorFlow does not.
nn::LocalResponseNorm lrn() {
  return nn::LocalResponseNorm(nn::LocalResponseNormOptions(9).alpha(0.001).beta(0.75).k(1.0));
}
nn::MaxPool2d pool() { return nn::MaxPool2d(nn::MaxPool2dOptions(3).stride(2).padding(1)); }
}  // namespace

AlexNetImpl::AlexNetImpl(const AlexNetOptions& options) {
  const InputShape& in = options.input();
  conv_ = register_module(
      "conv",
      nn::Sequential(nn::Conv2d(nn::Conv2dOptions(in.channels, 64, 5).padding(2)), nn::ReLU(),
                     pool(), lrn(), nn::Conv2d(nn::Conv2dOptions(64, 64, 5).padding(2)), nn::ReLU(),
                     lrn(), pool(), nn::Flatten()));
  int64_t flat = 0;
  {
    torch::NoGradGuard no_grad;
    flat = conv_->forward(torch::zeros({1, in.channels, in.height, in.width})).size(1);
  }
  fc_ = register_module(
      "fc", nn::Sequential(nn::Linear(flat, 384), nn::ReLU(), nn::Linear(384, 192), nn::ReLU()));
  set_head(192, options.classes());
}

torch::Tensor AlexNetImpl::features(const torch::Tensor& x) {
  return fc_->forward(conv_->forward(x));
}

std::string AlexNetImpl::script_features(TorchScriptWriter& w, const std::string& x) const {
  return w.sequential(w.sequential(x, "conv", conv_), "fc", fc_);
}

}  // namespace kd
