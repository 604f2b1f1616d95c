#include "lib/models/cnn.h"

namespace kd {

namespace nn = torch::nn;

CnnImpl::CnnImpl(const CnnOptions& options) {
  body_ = nn::Sequential();
  int64_t in = options.input().channels;
  int64_t out = options.width();
  for (int stage = 0; stage < 3; ++stage) {
    body_->push_back(nn::Conv2d(nn::Conv2dOptions(in, out, 3).padding(1).bias(false)));
    body_->push_back(nn::BatchNorm2d(out));
    body_->push_back(nn::ReLU());
    if (stage < 2) body_->push_back(nn::MaxPool2d(nn::MaxPool2dOptions(2)));
    in = out;
    out *= 2;
  }
  body_->push_back(nn::AdaptiveAvgPool2d(nn::AdaptiveAvgPool2dOptions(1)));
  body_->push_back(nn::Flatten());
  register_module("body", body_);
  set_head(in, options.classes());
}

torch::Tensor CnnImpl::features(const torch::Tensor& x) { return body_->forward(x); }

std::string CnnImpl::script_features(TorchScriptWriter& w, const std::string& x) const {
  return w.sequential(x, "body", body_);
}

}  // namespace kd
