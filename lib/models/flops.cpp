#include "lib/models/flops.h"

#include <ATen/record_function.h>

#include <cstring>

namespace kd {

namespace {

thread_local double counted = 0;

std::vector<int64_t> sizes_of(const c10::IValue& v) {
  return v.isTensor() ? v.toTensor().sizes().vec() : std::vector<int64_t>{};
}

std::vector<int64_t> ints_of(const c10::IValue& v) {
  return v.isIntList() ? v.toIntVector() : std::vector<int64_t>{};
}

// Counted at the operators that do the products, never at the composite ones above them
// (aten::linear calls addmm or matmul, which calls mm; conv2d calls convolution once).
std::unique_ptr<at::ObserverContext> count(const at::RecordFunction& fn) {
  const char* name = fn.name();
  const auto in = fn.inputs();
  if (std::strcmp(name, "aten::addmm") == 0 || std::strcmp(name, "aten::mm") == 0) {
    const std::size_t a = std::strcmp(name, "aten::addmm") == 0 ? 1 : 0;
    if (in.size() < a + 2) return nullptr;
    const auto x = sizes_of(in[a]), w = sizes_of(in[a + 1]);
    if (x.size() == 2 && w.size() == 2) counted += 2.0 * x[0] * x[1] * w[1];
  } else if (std::strcmp(name, "aten::bmm") == 0 || std::strcmp(name, "aten::baddbmm") == 0) {
    const std::size_t a = std::strcmp(name, "aten::baddbmm") == 0 ? 1 : 0;
    if (in.size() < a + 2) return nullptr;
    const auto x = sizes_of(in[a]), w = sizes_of(in[a + 1]);
    if (x.size() == 3 && w.size() == 3) counted += 2.0 * x[0] * x[1] * x[2] * w[2];
  } else if (std::strcmp(name, "aten::convolution") == 0 && in.size() >= 9) {
    // convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding,
    // groups): every output position multiplies a weight slice of Cin/groups · kernel.
    const auto x = sizes_of(in[0]), w = sizes_of(in[1]);
    const auto stride = ints_of(in[3]), padding = ints_of(in[4]), dilation = ints_of(in[5]);
    if (x.size() < 3 || w.size() != x.size() || in[6].toBool()) return nullptr;
    double outputs = static_cast<double>(x[0]) * w[0];
    double per_output = static_cast<double>(w[1]);
    for (std::size_t d = 2; d < x.size(); ++d) {
      const std::size_t i = d - 2;
      const int64_t s = i < stride.size() ? stride[i] : 1;
      const int64_t p = i < padding.size() ? padding[i] : 0;
      const int64_t dl = i < dilation.size() ? dilation[i] : 1;
      outputs *= static_cast<double>((x[d] + 2 * p - dl * (w[d] - 1) - 1) / s + 1);
      per_output *= static_cast<double>(w[d]);
    }
    counted += 2.0 * outputs * per_output;
  }
  return nullptr;
}

}  // namespace

double forward_flops(const std::function<torch::Tensor(const torch::Tensor&)>& forward,
                     const torch::Tensor& example) {
  torch::NoGradGuard no_grad;
  counted = 0;
  const at::CallbackHandle handle =
      at::addThreadLocalCallback(at::RecordFunctionCallback(&count).needsInputs(true));
  try {
    forward(example);
  } catch (...) {
    at::removeCallback(handle);
    throw;
  }
  at::removeCallback(handle);
  return counted;
}

double forward_flops(const Classifier& model, const InputShape& input) {
  const bool training = model->is_training();
  model->eval();
  const torch::Device device =
      model->parameters().empty() ? torch::Device(torch::kCPU) : model->parameters()[0].device();
  const double flops = forward_flops([&](const torch::Tensor& x) { return model->forward(x); },
                                     torch::zeros(input.batch(1), device));
  model->train(training);
  return flops;
}

}  // namespace kd
