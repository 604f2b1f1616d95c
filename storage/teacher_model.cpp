#include "storage/teacher_model.h"

#include <nlohmann/json.hpp>

#include "lib/core/error.h"
#include "lib/core/files.h"
#include "lib/core/hash.h"
#include "lib/models/scripted_classifier.h"
#include "lib/models/zoo.h"

namespace kd {

namespace fs = std::filesystem;

TeacherModel TeacherModel::from_checkpoint(const fs::path& path) {
  // A teach directory of a TorchScript teacher holds its evaluation, not a checkpoint.
  const fs::path evaluated = path / "metrics.json";
  if (fs::is_directory(path) && !fs::exists(path / "model.pt") && fs::exists(evaluated)) {
    try {
      const auto m = nlohmann::json::parse(read_text(evaluated));
      if (m.at("model").value("source", "") == "torchscript") {
        TeacherModel t = from_torchscript(m.at("model").at("checkpoint").get<std::string>());
        check<StorageError>(t.hash_ == m.at("model").at("checkpoint_hash").get<std::string>(),
                            t.checkpoint_.string(), ": changed since ", path.string(),
                            " evaluated it (its hash differs from metrics.json's)");
        t.smoothing_ = m.at("options").at("smoothing").get<double>();
        t.input_ = m.at("options").at("input").get<std::string>();
        t.standardize_ = m.at("options").value("standardize", false);
        return t;
      }
    } catch (const nlohmann::json::exception& e) {
      throw StorageError(evaluated.string() + ": not a teacher's metrics file (" + e.what() + ")");
    }
  }
  TeacherModel t;
  t.source_ = "kdpipe";
  t.checkpoint_ = fs::is_directory(path) ? path / "model.pt" : path;
  const LoadedModel loaded = load_model(t.checkpoint_);
  t.arch_ = loaded.meta.spec;
  t.dataset_ = loaded.meta.dataset;
  t.shape_ = loaded.meta.input;
  t.standardize_ = loaded.meta.standardize;
  t.classes_ = loaded.meta.classes;
  t.hash_ = hash_file(t.checkpoint_);
  // The teach stage records how the teacher was trained beside its checkpoint.
  const fs::path metrics = t.checkpoint_.parent_path() / "metrics.json";
  if (fs::exists(metrics)) {
    try {
      const auto m = nlohmann::json::parse(read_text(metrics));
      t.smoothing_ = m.at("options").at("smoothing").get<double>();
      t.seed_ = m.at("options").at("seed").get<int64_t>();
      t.input_ = m.at("options").value("input", "");
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
  load_torchscript(path);  // refuses a missing file or one that is not TorchScript, naming it
  t.hash_ = hash_file(path);
  return t;
}

void TeacherModel::check_compatible(const DatasetInfo& info) const {
  // Feature values reach the teacher as they reached it when it was trained (or evaluated).
  if (info.is_features() && standardize_) {
    check<ConfigError>(*standardize_ == info.standardize, checkpoint_.string(), ": the model was ",
                       source_ == "kdpipe" ? "trained" : "evaluated", " on feature values ",
                       *standardize_ ? "standardised (--standardize)" : "as stored",
                       "; give the same --standardize to every stage");
  }
  if (source_ == "kdpipe") {
    check<ConfigError>(shape_.text() == info.input().text(), checkpoint_.string(),
                       ": the model takes ", shape_.text(), " inputs, ", info.name, " has ",
                       info.input().text());
    check<ConfigError>(classes_ == info.classes, checkpoint_.string(), ": the model has ", classes_,
                       " outputs, ", info.name, " has ", info.classes, " classes");
    check<ConfigError>(dataset_.empty() || dataset_ == info.name, checkpoint_.string(),
                       ": the model was trained on ", dataset_, ", not ", info.name);
    return;
  }
  load_torchscript(checkpoint_)->check_compatible(info);
}

TeacherReplica TeacherModel::replica(const torch::Device& device) const {
  if (source_ == "kdpipe") {
    Classifier model = load_model(checkpoint_).model;
    model->to(device);
    model->eval();
    return [model](const torch::Tensor& x) { return model->forward(x); };
  }
  const std::shared_ptr<ScriptedClassifierImpl> module = load_torchscript(checkpoint_, device);
  // A module from elsewhere may fail on some batches only (a size baked in, say): name it.
  return [module, file = checkpoint_](const torch::Tensor& x) {
    try {
      return module->forward(x);
    } catch (const std::exception& e) {
      // The interpreter's message opens with a generic line; its reason is the last line.
      std::string what = e.what();
      while (!what.empty() && (what.back() == '\n' || what.back() == ' ')) what.pop_back();
      what = what.substr(what.find_last_of('\n') + 1);
      throw DataError(file.string() + ": the TorchScript teacher failed on a batch of " +
                      std::to_string(x.size(0)) + " images: " + what);
    }
  };
}

}  // namespace kd
