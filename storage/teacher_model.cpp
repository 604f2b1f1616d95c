#include "storage/teacher_model.h"

#include <torch/script.h>

#include <nlohmann/json.hpp>

#include "lib/core/error.h"
#include "lib/core/files.h"
#include "lib/core/hash.h"
#include "lib/models/zoo.h"

namespace kd {

namespace fs = std::filesystem;

TeacherModel TeacherModel::from_checkpoint(const fs::path& path) {
  TeacherModel t;
  t.source_ = "kdpipe";
  t.checkpoint_ = fs::is_directory(path) ? path / "model.pt" : path;
  const LoadedModel loaded = load_model(t.checkpoint_);
  t.arch_ = loaded.meta.spec;
  t.dataset_ = loaded.meta.dataset;
  t.channels_ = loaded.meta.input.channels;
  t.height_ = loaded.meta.input.height;
  t.width_ = loaded.meta.input.width;
  t.classes_ = loaded.meta.classes;
  t.hash_ = hash_file(t.checkpoint_);
  // The teach stage records how the teacher was trained beside its checkpoint.
  const fs::path metrics = t.checkpoint_.parent_path() / "metrics.json";
  if (fs::exists(metrics)) {
    try {
      const auto m = nlohmann::json::parse(read_text(metrics));
      t.smoothing_ = m.at("options").at("smoothing").get<double>();
      t.seed_ = m.at("options").at("seed").get<int64_t>();
    } catch (const nlohmann::json::exception& e) {
      throw StorageError(metrics.string() + ": not a teacher's metrics file (" + e.what() + ")");
    }
  }
  return t;
}

TeacherModel TeacherModel::from_torchscript(const fs::path& path) {
  TeacherModel t;
  t.source_ = "torchscript";
  t.arch_ = "torchscript";
  t.checkpoint_ = path;
  check<StorageError>(fs::is_regular_file(path), "--torchscript ", path.string(), ": no such file");
  try {
    torch::jit::load(path.string());
  } catch (const c10::Error& e) {
    throw StorageError("--torchscript " + path.string() + ": not a TorchScript module (" +
                       std::string(e.what()).substr(0, std::string(e.what()).find('\n')) + ")");
  }
  t.hash_ = hash_file(path);
  return t;
}

void TeacherModel::check_compatible(const DatasetInfo& info) const {
  if (source_ == "kdpipe") {
    check<ConfigError>(channels_ == info.channels && height_ == info.height && width_ == info.width,
                       checkpoint_.string(), ": the model takes ", channels_, "x", height_, "x",
                       width_, " images, ", info.name, " has ", info.channels, "x", info.height,
                       "x", info.width);
    check<ConfigError>(classes_ == info.classes, checkpoint_.string(), ": the model has ", classes_,
                       " outputs, ", info.name, " has ", info.classes, " classes");
    check<ConfigError>(dataset_.empty() || dataset_ == info.name, checkpoint_.string(),
                       ": the model was trained on ", dataset_, ", not ", info.name);
    return;
  }
  // A TorchScript module says nothing of its input: try one batch of the dataset's shape.
  const TeacherReplica probe = replica(torch::kCPU);
  torch::Tensor out;
  try {
    out = probe(torch::zeros({2, info.channels, info.height, info.width}));
  } catch (const std::exception& e) {  // c10::Error, or the TorchScript interpreter's own
    const std::string why = std::string(e.what()).substr(0, std::string(e.what()).find('\n'));
    throw ConfigError("--torchscript " + checkpoint_.string() + ": cannot take " + info.name +
                      " images of shape [B, " + std::to_string(info.channels) + ", " +
                      std::to_string(info.height) + ", " + std::to_string(info.width) +
                      "]: " + why);
  }
  check<ConfigError>(out.dim() == 2 && out.size(0) == 2 && out.size(1) == info.classes,
                     "--torchscript ", checkpoint_.string(), ": for a batch of 2 ", info.name,
                     " images it returned shape ", out.sizes(), ", expected [2, ", info.classes,
                     "]");
}

TeacherReplica TeacherModel::replica(const torch::Device& device) const {
  if (source_ == "kdpipe") {
    Classifier model = load_model(checkpoint_).model;
    model->to(device);
    model->eval();
    return [model](const torch::Tensor& x) { return model->forward(x); };
  }
  auto module =
      std::make_shared<torch::jit::Module>(torch::jit::load(checkpoint_.string(), device));
  module->eval();
  return [module](const torch::Tensor& x) {
    const torch::IValue out = module->forward({x});
    TORCH_CHECK(out.isTensor(), "the TorchScript teacher must return a tensor of logits");
    return out.toTensor();
  };
}

}  // namespace kd
