#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "lib/core/error.h"
#include "lib/core/files.h"
#include "lib/core/work_ledger.h"
#include "lib/core/zip_check.h"
#include "lib/data/datasets.h"
#include "lib/models/scripted_classifier.h"
#include "lib/models/zoo.h"

// Checkpoints: a model's weights and the meta that rebuilds it, in LibTorch's archive format.
namespace kd {

namespace fs = std::filesystem;

namespace {

// The meta fields of a checkpoint, each checked for type and domain as it is read: a damaged or
// foreign archive is a StorageError naming the file and the field, never a LibTorch error.
class MetaReader {
 public:
  MetaReader(torch::serialize::InputArchive& archive, const fs::path& path)
      : archive_(archive), path_(path) {}

  [[noreturn]] void fail(const std::string& key, const std::string& why) const {
    throw StorageError("loading model " + path_.string() + ": field '" + key + "' " + why);
  }

  torch::IValue value(const std::string& key) {
    torch::IValue v;
    if (!archive_.try_read(key, v)) fail(key, "is missing");
    return v;
  }

  std::string text(const std::string& key) {
    const torch::IValue v = value(key);
    if (!v.isString()) fail(key, "should be a string");
    return v.toStringRef();
  }

  int64_t whole(const std::string& key, int64_t lo, int64_t hi) {
    const torch::IValue v = value(key);
    if (!v.isInt() || v.toInt() < lo || v.toInt() > hi) {
      fail(key,
           "should be a whole number in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    }
    return v.toInt();
  }

  /// A 1-D tensor of `n` values of `dtype`, or nothing when the key is absent.
  std::optional<torch::Tensor> tensor(const std::string& key, torch::ScalarType dtype, int64_t n) {
    torch::IValue v;
    if (!archive_.try_read(key, v)) return std::nullopt;
    if (!v.isTensor() || v.toTensor().scalar_type() != dtype || v.toTensor().dim() != 1 ||
        v.toTensor().numel() != n) {
      fail(key, "should be " + std::to_string(n) + " values of type " +
                    std::string(c10::toString(dtype)));
    }
    return v.toTensor().contiguous();
  }

  std::optional<std::vector<std::string>> texts(const std::string& key, std::size_t n) {
    torch::IValue v;
    if (!archive_.try_read(key, v)) return std::nullopt;
    std::vector<std::string> out;
    if (v.isList()) {
      for (const auto& item : v.toListRef()) {
        if (!item.isString()) break;
        out.push_back(item.toStringRef());
      }
    }
    if (!v.isList() || out.size() != v.toListRef().size() || (!out.empty() && out.size() != n)) {
      fail(key, "should be a list of " + std::to_string(n) + " strings");
    }
    return out;
  }

 private:
  torch::serialize::InputArchive& archive_;
  fs::path path_;
};

ModelMeta read_meta(torch::serialize::InputArchive& archive, const fs::path& path) {
  MetaReader read(archive, path);
  ModelMeta meta;
  torch::IValue format;
  if (!archive.try_read("kdpipe.format", format) || !format.isString() ||
      format.toStringRef() != "kdpipe-model") {
    throw StorageError("loading model " + path.string() +
                       ": not a kdpipe model (no kdpipe.format)");
  }
  meta.spec = read.text("kdpipe.spec");
  meta.classes = read.whole("kdpipe.classes", 1, kMaxClasses);
  meta.dataset = read.text("kdpipe.dataset");
  const auto input = read.tensor("kdpipe.input", torch::kInt64, 3);
  if (!input) read.fail("kdpipe.input", "is missing");
  const int64_t* shape = input->data_ptr<int64_t>();
  meta.input = {shape[0], shape[1], shape[2]};
  torch::IValue features;
  if (archive.try_read("kdpipe.features", features)) {
    if (!features.isTensor() || features.toTensor().scalar_type() != torch::kInt64 ||
        features.toTensor().dim() != 1) {
      read.fail("kdpipe.features", "should be the shape of one example");
    }
    const torch::Tensor f = features.toTensor().contiguous();
    meta.input.features.assign(f.data_ptr<int64_t>(), f.data_ptr<int64_t>() + f.numel());
    meta.standardize = read.whole("kdpipe.standardize", 0, 1) == 1;
  }
  if (const std::string problem = meta.input.problem(); !problem.empty()) {
    read.fail(meta.input.features.empty() ? "kdpipe.input" : "kdpipe.features", problem);
  }
  const int64_t stats = meta.input.features.empty() ? meta.input.channels : meta.input.width;
  const auto mean = read.tensor("kdpipe.mean", torch::kFloat32, stats);
  const auto std = read.tensor("kdpipe.std", torch::kFloat32, stats);
  const auto names = read.texts("kdpipe.class_names", static_cast<std::size_t>(meta.classes));
  if (mean && std && names) {
    meta.mean.assign(mean->data_ptr<float>(), mean->data_ptr<float>() + mean->numel());
    meta.std.assign(std->data_ptr<float>(), std->data_ptr<float>() + std->numel());
    meta.class_names = *names;
  } else {
    // Checkpoints older than these fields: a built-in dataset's values, or none.
    const auto builtin = dataset_names();
    if (std::count(builtin.begin(), builtin.end(), meta.dataset) > 0) {
      const DatasetInfo info = dataset_info(meta.dataset);
      meta.mean = info.mean, meta.std = info.std, meta.class_names = info.class_names;
    }
  }
  return meta;
}

// A TorchScript model's meta travels in the archive as kdpipe_model.json, which Python reads with
// torch.jit.load(path, _extra_files={"kdpipe_model.json": ""}).
std::string meta_json(const ModelMeta& meta) {
  const nlohmann::json j = {{"format", "kdpipe-model"},
                            {"spec", meta.spec},
                            {"input", {meta.input.channels, meta.input.height, meta.input.width}},
                            {"features", meta.input.features},
                            {"standardize", meta.standardize},
                            {"classes", meta.classes},
                            {"dataset", meta.dataset},
                            {"mean", meta.mean},
                            {"std", meta.std},
                            {"class_names", meta.class_names}};
  return j.dump();
}

ModelMeta meta_from_json(const std::string& text, const fs::path& path) {
  ModelMeta meta;
  try {
    const nlohmann::json j = nlohmann::json::parse(text);
    meta.spec = j.at("spec").get<std::string>();
    const auto input = j.at("input").get<std::vector<int64_t>>();
    check<StorageError>(input.size() == 3, "loading model ", path.string(),
                        ": field 'kdpipe_model.json' input should be channels, height and width");
    meta.input = {input[0], input[1], input[2]};
    meta.input.features = j.value("features", std::vector<int64_t>{});
    meta.standardize = j.value("standardize", false);
    meta.classes = j.at("classes").get<int64_t>();
    meta.dataset = j.at("dataset").get<std::string>();
    meta.mean = j.at("mean").get<std::vector<float>>();
    meta.std = j.at("std").get<std::vector<float>>();
    meta.class_names = j.at("class_names").get<std::vector<std::string>>();
  } catch (const nlohmann::json::exception& e) {
    throw StorageError("loading model " + path.string() +
                       ": field 'kdpipe_model.json' is malformed (" + e.what() + ")");
  }
  check<StorageError>(
      meta.classes >= 1 && meta.classes <= kMaxClasses && meta.input.problem().empty(),
      "loading model ", path.string(),
      ": field 'kdpipe_model.json' holds an impossible input shape or class count");
  return meta;
}

// A model trained from a TorchScript file, saved as TorchScript with its meta beside it; or
// nothing when `path` holds no kdpipe_model.json.
std::optional<LoadedModel> load_scripted(const fs::path& path) {
  torch::jit::ExtraFilesMap extra{{"kdpipe_model.json", ""}};
  try {
    torch::jit::load(path.string(), torch::kCPU, extra);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (extra["kdpipe_model.json"].empty()) return std::nullopt;
  LoadedModel out;
  out.meta = meta_from_json(extra["kdpipe_model.json"], path);
  const auto model =
      std::make_shared<ScriptedClassifierImpl>(path, torch::kCPU, "loading model " + path.string());
  model->check_compatible(out.meta.input, out.meta.classes);
  out.model = model;
  return out;
}

}  // namespace

void save_model(const Classifier& model, const ModelMeta& meta, const std::filesystem::path& path) {
  const PhaseScope phase(Phase::write);
  // A model from Python goes back as TorchScript: Python loads it with nothing from kdpipe.
  if (const auto scripted = std::dynamic_pointer_cast<ScriptedClassifierImpl>(model)) {
    write_text_atomically(path, scripted->serialized({{"kdpipe_model.json", meta_json(meta)}}));
    return;
  }
  // Serialised in memory first: LibTorch's file writer fails in a destructor on a full disk, which
  // ends the process; written here, a full disk is one StorageError.
  std::ostringstream bytes;
  {
    torch::serialize::OutputArchive archive;
    model->save(archive);
    archive.write("kdpipe.format", torch::IValue(std::string("kdpipe-model")));
    archive.write("kdpipe.spec", torch::IValue(meta.spec));
    archive.write("kdpipe.input",
                  torch::tensor({meta.input.channels, meta.input.height, meta.input.width}));
    if (!meta.input.features.empty()) {
      archive.write("kdpipe.features", torch::tensor(meta.input.features, torch::kInt64));
      archive.write("kdpipe.standardize", torch::IValue(int64_t{meta.standardize ? 1 : 0}));
    }
    archive.write("kdpipe.classes", torch::IValue(meta.classes));
    archive.write("kdpipe.dataset", torch::IValue(meta.dataset));
    archive.write("kdpipe.mean", torch::tensor(meta.mean, torch::kFloat32));
    archive.write("kdpipe.std", torch::tensor(meta.std, torch::kFloat32));
    archive.write("kdpipe.class_names", torch::IValue(c10::List<std::string>(meta.class_names)));
    archive.save_to(bytes);
  }
  write_text_atomically(path, bytes.str());
}

LoadedModel load_model(const std::filesystem::path& path) {
  check<StorageError>(std::filesystem::is_regular_file(path), "loading model ", path.string(),
                      ": no such file");
  check_zip_archive<StorageError>(path, "loading model");
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path.string());
  } catch (const std::exception&) {  // c10::Error, and std::runtime_error from its type parser
    throw StorageError("loading model " + path.string() +
                       ": not a readable LibTorch archive (truncated or not a checkpoint)");
  }
  torch::IValue format;
  if (!archive.try_read("kdpipe.format", format)) {
    if (auto scripted = load_scripted(path)) return std::move(*scripted);
  }
  LoadedModel out;
  out.meta = read_meta(archive, path);
  try {
    out.model = make_model(out.meta.spec, out.meta.input, out.meta.classes);
  } catch (const Error& e) {
    throw StorageError("loading model " + path.string() + ": field 'kdpipe.spec': " + e.what());
  }
  try {
    out.model->load(archive);
  } catch (const std::exception&) {
    throw StorageError("loading model " + path.string() + ": weights do not match spec '" +
                       out.meta.spec + "'");
  }
  return out;
}

}  // namespace kd
