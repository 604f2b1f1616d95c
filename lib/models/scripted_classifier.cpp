#include "lib/models/scripted_classifier.h"

#include <algorithm>
#include <set>
#include <sstream>

#include "lib/core/error.h"
#include "lib/core/zip_check.h"

namespace kd {

namespace fs = std::filesystem;

namespace {

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

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

}  // namespace

ScriptedClassifierImpl::ScriptedClassifierImpl(const fs::path& path, const torch::Device& device,
                                               std::string label)
    : path_(path), label_(label.empty() ? "--torchscript " + path.string() : std::move(label)) {
  check<DataError>(fs::is_regular_file(path), label_, ": no such file");
  // The archive's own check names the file itself.
  check_zip_archive<DataError>(path,
                               label_.rfind("--torchscript", 0) == 0 ? "--torchscript" : "reading");
  try {
    module_ = torch::jit::load(path.string(), device);
  } catch (const std::exception& e) {
    throw DataError(label_ + ": not a TorchScript module (" + first_line(e.what()) + ")");
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
}

torch::Tensor ScriptedClassifierImpl::forward(const torch::Tensor& x) {
  const torch::IValue out = module_.forward({x});
  TORCH_CHECK(out.isTensor(), label_, ": forward must return a tensor of logits, not ",
              out.tagKind());
  return out.toTensor();
}

torch::Tensor ScriptedClassifierImpl::features(const torch::Tensor&) {
  throw ConfigError(label_ + ": a TorchScript model shows kdpipe no penultimate layer");
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
  try {
    // The probe batch goes where the module's parameters are (those it has, if any).
    const auto params = module_.parameters();
    const torch::Device device =
        params.begin() != params.end() ? (*params.begin()).device() : torch::Device(torch::kCPU);
    out = module_.forward({torch::zeros({2, info.channels, info.height, info.width}, device)});
  } catch (const std::exception& e) {  // c10::Error, or the TorchScript interpreter's own
    throw ConfigError(label_ + ": forward failed on a batch of 2 " +
                      (info.name.empty() ? "" : info.name + " ") + "images of shape [2, " +
                      std::to_string(info.channels) + ", " + std::to_string(info.height) + ", " +
                      std::to_string(info.width) + "]: " + model_message(e.what()));
  }
  check<ConfigError>(out.isTensor(), label_, ": forward must return a tensor of logits, not ",
                     out.tagKind());
  const torch::Tensor logits = out.toTensor();
  check<ConfigError>(logits.dim() == 2 && logits.size(0) == 2 && logits.size(1) == info.classes,
                     label_, ": for a batch of 2 ", info.name.empty() ? "" : info.name + " ",
                     "images it returned shape ", logits.sizes(), ", expected [2, ", info.classes,
                     "]");
}

std::shared_ptr<ScriptedClassifierImpl> load_torchscript(const fs::path& path,
                                                         const torch::Device& device) {
  return std::make_shared<ScriptedClassifierImpl>(path, device);
}

}  // namespace kd
