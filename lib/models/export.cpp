#include "lib/models/export.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>

#include "lib/core/error.h"
#include "lib/core/files.h"
#include "lib/core/runtime.h"
#include "lib/models/scripted_classifier.h"

namespace kd {

namespace fs = std::filesystem;

namespace {

torch::Tensor per_channel(const std::vector<float>& v) {
  return torch::tensor(v, torch::kFloat32).view({1, -1, 1, 1});
}

std::string family_of(const std::string& spec) { return spec.substr(0, spec.find(':')); }

}  // namespace

std::string export_description(const ModelMeta& meta) {
  const nlohmann::json d = {
      {"format", "kdpipe-torchscript"},
      {"kdpipe_version", version()},
      {"arch", meta.spec},
      {"dataset", meta.dataset},
      {"classes", meta.classes},
      {"class_names", meta.class_names},
      {"input_shape", {meta.input.channels, meta.input.height, meta.input.width}},
      {"mean", meta.mean},
      {"std", meta.std},
      {"forward", "float [B, C, H, W] with x = (pixel / 255 - mean) / std per channel"},
      {"classify", "uint8 pixels [B, C, H, W], RGB or grey, as in the training data"}};
  return d.dump(2);
}

namespace {

// What export adds to a module: the normalisation as buffers, the description as attributes.
void add_description(torch::jit::Module& module, const ModelMeta& meta) {
  // kdpipe's batches compute pixel * (1 / (255 std)) - mean / std; preprocess does the same.
  const torch::Tensor mean = per_channel(meta.mean), std = per_channel(meta.std);
  module.register_buffer("pixel_scale", 1.0f / (255.0f * std));
  module.register_buffer("pixel_shift", -mean / std);
  module.register_attribute("class_names", c10::ListType::ofStrings(),
                            c10::List<std::string>(meta.class_names));
  module.register_attribute(
      "mean", c10::ListType::ofFloats(),
      c10::List<double>(std::vector<double>(meta.mean.begin(), meta.mean.end())));
  module.register_attribute(
      "std", c10::ListType::ofFloats(),
      c10::List<double>(std::vector<double>(meta.std.begin(), meta.std.end())));
  module.register_attribute(
      "input_shape", c10::ListType::ofInts(),
      c10::List<int64_t>({meta.input.channels, meta.input.height, meta.input.width}));
  module.register_attribute("arch", c10::StringType::get(), meta.spec);
  module.register_attribute("dataset", c10::StringType::get(), meta.dataset);
}

const char* const kPreprocess =
    "def preprocess(self, images):\n"
    "    return images.float() * self.pixel_scale + self.pixel_shift\n\n"
    "def classify(self, images):\n"
    "    return self.forward(self.preprocess(images))\n";

// A model trained from the user's TorchScript file: that module, with its trained weights, its
// own forward (and features, where it has them) and export's additions. A name the module uses
// already is refused, naming it: export would change what the user's code means.
torch::jit::Module scripted_export(const ScriptedClassifierImpl& model, const ModelMeta& meta) {
  torch::jit::Module module = model.module_copy();
  for (const char* name : {"pixel_scale", "pixel_shift", "class_names", "mean", "std",
                           "input_shape", "arch", "dataset", "preprocess", "classify"}) {
    check<ConfigError>(!module.hasattr(name) && !module.find_method(name), model.path().string(),
                       " has a member named '", name,
                       "' already, which export adds (pixel_scale, pixel_shift, class_names, ",
                       "mean, std, input_shape, arch, dataset, preprocess, classify): rename it");
  }
  add_description(module, meta);
  module.define(kPreprocess);
  module.eval();
  return module;
}

void check_normalisation(const ModelMeta& meta) {
  check<ConfigError>(static_cast<int64_t>(meta.mean.size()) == meta.input.channels &&
                         meta.std.size() == meta.mean.size(),
                     "the checkpoint records no normalisation for its ", meta.input.channels,
                     " input channels (it predates export; retrain it)");
}

}  // namespace

torch::jit::Module to_torchscript(const LoadedModel& model) {
  const ModelMeta& meta = model.meta;
  check<ConfigError>(meta.input.features.empty(), "the model takes feature arrays ",
                     meta.input.text(), ", and export's preprocess and classify are for pixels; ",
                     "its model.pt is what Python loads",
                     std::dynamic_pointer_cast<ScriptedClassifierImpl>(model.model)
                         ? " (torch.jit.load)"
                         : " (a zoo mlp: train your own model, torchscript:FILE, for TorchScript)");
  check_normalisation(meta);
  torch::NoGradGuard no_grad;
  if (const auto scripted = std::dynamic_pointer_cast<ScriptedClassifierImpl>(model.model)) {
    return scripted_export(*scripted, meta);
  }
  torch::jit::Module module("kdpipe_" + family_of(meta.spec));
  for (const auto& p : model.model->named_parameters()) {
    module.register_parameter(TorchScriptWriter::member_name(p.key()), p.value().detach().clone(),
                              /*is_buffer=*/false);
  }
  for (const auto& b : model.model->named_buffers()) {
    module.register_buffer(TorchScriptWriter::member_name(b.key()), b.value().clone());
  }
  add_description(module, meta);

  TorchScriptWriter w;
  const std::string features = model.model->script_features(w, "x");
  module.define("def features(self, x):\n" + w.body() + "    return " + features + "\n\n" +
                "def forward(self, x):\n"
                "    return torch.linear(self.features(x), self.head_weight, self.head_bias)\n\n" +
                kPreprocess);
  module.eval();
  return module;
}

void check_exported_input(const fs::path& path, const std::string& input) {
  torch::jit::ExtraFilesMap extra{{"kdpipe.json", ""}};
  try {
    torch::jit::load(path.string(), torch::kCPU, extra);
  } catch (const std::exception&) {
    return;  // not TorchScript: the caller's own loading names it
  }
  if (extra["kdpipe.json"].empty()) return;
  std::vector<float> mean, std;
  try {
    const nlohmann::json d = nlohmann::json::parse(extra["kdpipe.json"]);
    mean = d.at("mean").get<std::vector<float>>();
    std = d.at("std").get<std::vector<float>>();
  } catch (const nlohmann::json::exception&) {
    return;  // not export's description
  }
  const bool unit = !mean.empty() &&
                    std::all_of(mean.begin(), mean.end(), [](float m) { return m == 0.0f; }) &&
                    std::all_of(std.begin(), std.end(), [](float s) { return s == 1.0f; });
  check<ConfigError>((input == "unit") == unit, "--input ", input, ": ", path.string(),
                     " is a kdpipe export of a model trained on ",
                     unit ? "pixels in [0, 1]: give --input unit"
                          : "images normalised per channel: give --input normalized");
}

void export_torchscript(const LoadedModel& model, const fs::path& path) {
  const torch::jit::Module module = to_torchscript(model);
  std::ostringstream bytes;  // in memory first: see save_model
  module.save(bytes, {{"kdpipe.json", export_description(model.meta)}});
  write_text_atomically(path, bytes.str());
}

}  // namespace kd
