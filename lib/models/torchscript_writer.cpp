#include "lib/models/torchscript_writer.h"

#include <algorithm>
#include <sstream>

#include "lib/core/error.h"

namespace kd {

namespace {

std::string ints(torch::IntArrayRef v) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + std::to_string(v[i]);
  return out + "]";
}

// Shortest text that reads back as the same double.
std::string real(double v) {
  std::ostringstream o;
  o.precision(17);
  o << v;
  std::string s = o.str();
  if (s.find_first_of(".eE") == std::string::npos) s += ".0";
  return s;
}

}  // namespace

std::string TorchScriptWriter::member_name(const std::string& path) {
  std::string name = path;
  std::replace(name.begin(), name.end(), '.', '_');
  return name;
}

std::string TorchScriptWriter::let(const std::string& expr) {
  const std::string name = "v" + std::to_string(next_++);
  body_ += "    " + name + " = " + expr + "\n";
  return name;
}

std::string TorchScriptWriter::relu(const std::string& x) { return let("torch.relu(" + x + ")"); }

std::string TorchScriptWriter::linear(const std::string& x, const std::string& path) {
  return let("torch.linear(" + x + ", " + attribute(path + ".weight") + ", " +
             attribute(path + ".bias") + ")");
}

std::string TorchScriptWriter::conv2d(const std::string& x, const std::string& path,
                                      const torch::nn::Conv2dImpl& conv) {
  const auto& o = conv.options;
  // LibTorch 1.13 holds the padding in a c10::variant, 2.x in a std::variant: name neither.
  using namespace c10;  // NOLINT(google-build-using-namespace)
  using namespace std;  // NOLINT(google-build-using-namespace)
  check<ConfigError>(holds_alternative<torch::ExpandingArray<2>>(o.padding()) &&
                         holds_alternative<torch::enumtype::kZeros>(o.padding_mode()),
                     "export: conv ", path, " uses a padding mode export does not write");
  const auto& padding = get<torch::ExpandingArray<2>>(o.padding());
  return let("torch.conv2d(" + x + ", " + attribute(path + ".weight") + ", " +
             (o.bias() ? attribute(path + ".bias") : "None") + ", " + ints(*o.stride()) + ", " +
             ints(*padding) + ", " + ints(*o.dilation()) + ", " + std::to_string(o.groups()) + ")");
}

std::string TorchScriptWriter::batch_norm(const std::string& x, const std::string& path,
                                          const torch::nn::BatchNorm2dImpl& bn) {
  // Inference: the running statistics, as BatchNorm2d uses them in eval mode.
  const auto& o = bn.options;
  check<ConfigError>(o.affine() && o.track_running_stats(), "export: batch norm ", path,
                     " without affine weights or running statistics");
  return let("torch.batch_norm(" + x + ", " + attribute(path + ".weight") + ", " +
             attribute(path + ".bias") + ", " + attribute(path + ".running_mean") + ", " +
             attribute(path + ".running_var") + ", False, 0.0, " + real(o.eps()) + ", True)");
}

std::string TorchScriptWriter::max_pool2d(const std::string& x,
                                          const torch::nn::MaxPool2dImpl& pool) {
  const auto& o = pool.options;
  return let("torch.max_pool2d(" + x + ", " + ints(*o.kernel_size()) + ", " + ints(*o.stride()) +
             ", " + ints(*o.padding()) + ", " + ints(*o.dilation()) + ", " +
             (o.ceil_mode() ? "True" : "False") + ")");
}

std::string TorchScriptWriter::local_response_norm(const std::string& x,
                                                   const torch::nn::LocalResponseNormImpl& lrn) {
  // LibTorch's functional local_response_norm for 4-d input, op for op.
  const auto& o = lrn.options;
  const int64_t size = o.size();
  const std::string sizes = let(x + ".size()");
  std::string d = let("torch.mul(" + x + ", " + x + ").unsqueeze(1)");
  d = let(d + ".view([" + sizes + "[0], 1, " + sizes + "[1], " + sizes + "[2], -1])");
  d = let("torch.constant_pad_nd(" + d + ", [0, 0, 0, 0, " + std::to_string(size / 2) + ", " +
          std::to_string((size - 1) / 2) + "], 0.0)");
  d = let("torch.avg_pool3d(" + d + ", [" + std::to_string(size) +
          ", 1, 1], [1, 1, 1], [0, 0, 0], False, True, None).squeeze(1)");
  d = let(d + ".view(" + sizes + ")");
  d = let(d + ".mul(" + real(o.alpha()) + ").add(" + real(o.k()) + ").pow(" + real(o.beta()) + ")");
  return let(x + " / " + d);
}

std::string TorchScriptWriter::sequential(const std::string& x, const std::string& path,
                                          const torch::nn::Sequential& seq) {
  std::string h = x;
  for (std::size_t i = 0; i < seq->size(); ++i) {
    const std::string sub = path + "." + std::to_string(i);
    const std::shared_ptr<torch::nn::Module> m = seq->ptr(i);
    if (m->as<torch::nn::Linear>()) {
      h = linear(h, sub);
    } else if (const auto* conv = m->as<torch::nn::Conv2d>()) {
      h = conv2d(h, sub, *conv);
    } else if (const auto* bn = m->as<torch::nn::BatchNorm2d>()) {
      h = batch_norm(h, sub, *bn);
    } else if (m->as<torch::nn::ReLU>()) {
      h = relu(h);
    } else if (const auto* pool = m->as<torch::nn::MaxPool2d>()) {
      h = max_pool2d(h, *pool);
    } else if (const auto* lrn = m->as<torch::nn::LocalResponseNorm>()) {
      h = local_response_norm(h, *lrn);
    } else if (const auto* avg = m->as<torch::nn::AdaptiveAvgPool2d>()) {
      std::vector<int64_t> size;
      for (const auto& v : *avg->options.output_size()) {
        check<ConfigError>(v.has_value(), "export: ", sub, " keeps an input size");
        size.push_back(*v);
      }
      h = let("torch.adaptive_avg_pool2d(" + h + ", " + ints(size) + ")");
    } else if (const auto* flat = m->as<torch::nn::Flatten>()) {
      h = let("torch.flatten(" + h + ", " + std::to_string(flat->options.start_dim()) + ", " +
              std::to_string(flat->options.end_dim()) + ")");
    } else {
      throw ConfigError("export: " + sub + " is a " + m->name() + ", which export does not write");
    }
  }
  return h;
}

}  // namespace kd
