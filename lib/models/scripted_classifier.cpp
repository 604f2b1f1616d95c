#include "lib/models/scripted_classifier.h"

#include <torch/version.h>

#include <algorithm>
#include <set>
#include <sstream>

#include "lib/core/error.h"
#include "lib/core/zip_check.h"

namespace kd {

namespace fs = std::filesystem;

namespace {

// The first line that says something (the interpreter's messages begin with a newline).
std::string first_line(const std::string& text) {
  const std::size_t start = std::min(text.size(), text.find_first_not_of(" \n"));
  return text.substr(start, text.find('\n', start) - start);
}

// Why torch::jit::load refused a file, in one line: a model saved by a newer PyTorch names the
// operator this LibTorch lacks ("Unknown builtin op: aten::rms_norm.").
std::string load_failure(const std::string& label, const std::string& what) {
  const std::string marker = "Unknown builtin op: ";
  const std::size_t at = what.find(marker);
  if (at == std::string::npos) {
    return label + ": not a TorchScript module (" + first_line(what) + ")";
  }
  const std::size_t start = at + marker.size();
  std::string op = what.substr(start, what.find_first_of(" \n", start) - start);
  if (!op.empty() && op.back() == '.') op.pop_back();
  return label + ": the model uses the operator " + op + ", which LibTorch " +
         std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) +
         " (kdpipe's) does not have: it was saved by a newer PyTorch, or calls an extension's "
         "operator; script it without that operator";
}

// What the module itself said. The interpreter wraps an exception the model raised in a traceback
// ("The following operation failed in the TorchScript interpreter. … builtins.Exception: boom");
// its last line is the model's own message.
std::string model_message(const std::string& text) {
  if (text.find("TorchScript interpreter") == std::string::npos) return first_line(text);
  std::string line, last;
  std::istringstream lines(text);
  while (std::getline(lines, line)) {
    if (line.find_first_not_of(" \t") != std::string::npos) last = line;
  }
  return last.substr(std::min(last.size(), last.find_first_not_of(" \t")));
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

}  // namespace

ScriptedClassifierImpl::ScriptedClassifierImpl(const fs::path& path, const torch::Device& device,
                                               std::string label)
    : path_(path), label_(label.empty() ? "--torchscript " + path.string() : std::move(label)) {
  check<DataError>(fs::is_regular_file(path), label_, ": ",
                   fs::is_directory(path) ? "a directory, not a TorchScript file" : "no such file");
  // The archive's own check names the file itself.
  check_zip_archive<DataError>(path,
                               label_.rfind("--torchscript", 0) == 0 ? "--torchscript" : "reading");
  try {
    module_ = torch::jit::load(path.string(), device);
  } catch (const std::exception& e) {
    throw DataError(load_failure(label_, e.what()));
  }
  module_.eval();
  ClassifierImpl::train(false);
  // The module's tensors become this one's (the same tensors): an optimiser given parameters()
  // updates what forward() computes with. nn::Module names cannot hold '.'.
  std::set<std::string> taken;
  const auto name_of = [&](std::string n) {
    std::replace(n.begin(), n.end(), '.', '_');
    while (!taken.insert(n).second) n += "_";
    return n;
  };
  for (const auto& p : module_.named_parameters(/*recurse=*/true)) {
    register_parameter(name_of(p.name), p.value, p.value.requires_grad());
  }
  for (const auto& b : module_.named_buffers(/*recurse=*/true)) {
    register_buffer(name_of(b.name), b.value);
  }
  find_penultimate();
}

void ScriptedClassifierImpl::find_penultimate() {
  const std::string why = label_ + ": no penultimate layer to project (";
  if (!module_.find_method("features")) {
    penultimate_note_ = why + "the module has no method features(x))";
    return;
  }
  if (!module_.hasattr("head") || !module_.attr("head").isModule() ||
      torch_layer(module_.attr("head").toModule()) != "Linear") {
    penultimate_note_ = why + "the module has features(x) but no torch.nn.Linear named head)";
    return;
  }
  const torch::jit::Module head = module_.attr("head").toModule();
  const torch::Tensor weight = head.attr("weight").toTensor();
  const torch::IValue bias = head.attr("bias");
  torch::nn::Linear linear(
      torch::nn::LinearOptions(weight.size(1), weight.size(0)).bias(bias.isTensor()));
  linear->weight = weight;  // the module's own tensors: what training changes
  if (bias.isTensor()) linear->bias = bias.toTensor();
  share_head(linear);
}

torch::Tensor ScriptedClassifierImpl::forward(const torch::Tensor& x) {
  const torch::IValue out = module_.forward({x});
  TORCH_CHECK(out.isTensor(), label_, ": forward must return a tensor of logits, not ",
              out.tagKind());
  return out.toTensor();
}

torch::Tensor ScriptedClassifierImpl::features(const torch::Tensor& x) {
  check<ConfigError>(penultimate_note_.empty(), penultimate_note_);
  const torch::IValue out = module_.get_method("features")({x});
  TORCH_CHECK(out.isTensor() && out.toTensor().dim() == 2, label_,
              ": features(x) must return a tensor [B, D]");
  return out.toTensor();
}

std::string ScriptedClassifierImpl::script_features(TorchScriptWriter&, const std::string&) const {
  throw ConfigError(path_.string() +
                    ": a model trained from a TorchScript file is TorchScript already (its "
                    "model.pt loads with torch.jit.load); kdpipe export does not rewrite it");
}

void ScriptedClassifierImpl::train(bool on) {
  ClassifierImpl::train(on);
  module_.train(on);
}

void ScriptedClassifierImpl::to(torch::Device device, bool non_blocking) {
  module_.to(device, non_blocking);
}

void ScriptedClassifierImpl::check_compatible(const InputShape& input, int64_t classes) const {
  DatasetInfo info;
  info.channels = input.channels, info.height = input.height, info.width = input.width;
  info.features = input.features;
  info.classes = classes;
  check_compatible(info);
}

std::string ScriptedClassifierImpl::serialized(
    const std::map<std::string, std::string>& extra) const {
  torch::jit::ExtraFilesMap files(extra.begin(), extra.end());
  std::ostringstream bytes;
  module_.save(bytes, files);
  return bytes.str();
}

void ScriptedClassifierImpl::check_compatible(const DatasetInfo& info) const {
  torch::NoGradGuard no_grad;
  torch::IValue out;
  // Varied values, not zeros (for which a head may equal anything), and not drawn: the caller's
  // generator is the seed's. The batch goes where the module's parameters are (if it has any).
  const auto params = module_.parameters();
  const torch::Device device =
      params.begin() != params.end() ? (*params.begin()).device() : torch::Device(torch::kCPU);
  const InputShape input = info.input();
  const std::string what =
      (info.name.empty() ? "" : info.name + " ") +
      (input.features.empty() ? "images of shape " : "feature arrays of shape ") +
      shape_text(input.batch(2));
  const torch::Tensor batch =
      torch::linspace(-1, 1, 2 * input.channels * input.height * input.width)
          .view(input.batch(2))
          .sin_()
          .to(device);
  try {
    out = module_.forward({batch});
  } catch (const std::exception& e) {  // c10::Error, or the TorchScript interpreter's own
    throw ConfigError(label_ + ": forward failed on a batch of 2 " + what + ": " +
                      model_message(e.what()));
  }
  check<ConfigError>(out.isTensor(), label_, ": forward must return a tensor of logits, not ",
                     out.tagKind());
  const torch::Tensor logits = out.toTensor();
  check<ConfigError>(logits.is_floating_point(), label_, ": forward must return floating-point ",
                     "logits, not ", c10::toString(logits.scalar_type()));
  check<ConfigError>(logits.dim() == 2 && logits.size(0) == 2 && logits.size(1) == info.classes,
                     label_, ": for a batch of 2 ", what, " it returned shape ", logits.sizes(),
                     ", expected [2, ", info.classes, "]");
  if (penultimate_note_.empty()) check_penultimate(batch, logits);
}

// The convention holds when head(features(x)) gives forward's logits; otherwise the model keeps
// its logits and shows no penultimate layer.
void ScriptedClassifierImpl::check_penultimate(const torch::Tensor& batch,
                                               const torch::Tensor& logits) const {
  const std::string why = label_ + ": no penultimate layer to project (";
  torch::IValue features;
  try {
    features = module_.get_method("features")({batch});
  } catch (const std::exception& e) {
    penultimate_note_ = why + "features(x) failed: " + model_message(e.what()) + ")";
    return;
  }
  const torch::Tensor weight = module_.attr("head").toModule().attr("weight").toTensor();
  if (!features.isTensor() || features.toTensor().dim() != 2 ||
      features.toTensor().size(1) != weight.size(1)) {
    penultimate_note_ = why + "features(x) does not return [B, " + std::to_string(weight.size(1)) +
                        "], the input of head)";
    return;
  }
  const torch::Tensor again = head()->forward(features.toTensor());
  if (!torch::allclose(again, logits, 1e-4, 1e-5)) {
    penultimate_note_ = why + "forward(x) is not head(features(x)))";
  }
}

std::shared_ptr<ScriptedClassifierImpl> load_torchscript(const fs::path& path,
                                                         const torch::Device& device) {
  return std::make_shared<ScriptedClassifierImpl>(path, device);
}

}  // namespace kd
