#include "lib/models/zoo.h"

#include <algorithm>
#include <sstream>

#include "lib/core/error.h"
#include "lib/core/files.h"
#include "lib/data/datasets.h"
#include "lib/models/alexnet.h"
#include "lib/models/cnn.h"
#include "lib/models/mlp.h"
#include "lib/models/resnet.h"

namespace kd {

namespace {

[[noreturn]] void bad_spec(const std::string& text, const std::string& why) {
  throw ConfigError("--arch '" + text + "': " + why +
                    "; expected mlp:W1-W2-..., cnn:W, resnet:D (D = 6n+2) or alexnet");
}

std::vector<int64_t> parse_widths(const std::string& text, const std::string& list) {
  std::vector<int64_t> out;
  if (list.empty() || list.front() == '-' || list.back() == '-' ||
      list.find("--") != std::string::npos) {
    bad_spec(text, "widths are positive whole numbers joined by '-', as in mlp:512-256");
  }
  std::stringstream in(list);
  std::string item;
  while (std::getline(in, item, '-')) {
    std::size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception&) {
      bad_spec(text, "'" + item + "' is not a positive whole number");
    }
    if (used != item.size() || v <= 0) {
      bad_spec(text, "'" + item + "' is not a positive whole number");
    }
    constexpr long long kMaxWidth = 1 << 16;
    if (v > kMaxWidth) {
      bad_spec(text, "width " + item + " is above kdpipe's limit of " + std::to_string(kMaxWidth));
    }
    out.push_back(v);
  }
  if (out.empty() || list.back() == '-') bad_spec(text, "no width given");
  return out;
}

}  // namespace

ModelSpec parse_model_spec(const std::string& text) {
  ModelSpec spec;
  spec.text = text;
  const auto colon = text.find(':');
  spec.family = text.substr(0, colon);
  const std::string rest = colon == std::string::npos ? "" : text.substr(colon + 1);
  if (spec.family == "alexnet") {
    if (!rest.empty()) bad_spec(text, "alexnet takes no parameters");
    return spec;
  }
  if (spec.family != "mlp" && spec.family != "cnn" && spec.family != "resnet") {
    bad_spec(text, "unknown architecture '" + spec.family + "'");
  }
  if (rest.empty()) bad_spec(text, spec.family + " needs a parameter after ':'");
  spec.values = parse_widths(text, rest);
  if (spec.family != "mlp" && spec.values.size() != 1) {
    bad_spec(text, spec.family + " takes one number");
  }
  if (spec.family == "resnet" && (spec.values[0] < 8 || (spec.values[0] - 2) % 6 != 0)) {
    bad_spec(text, "resnet depth must be 6n+2 with n >= 1 (20, 32, 56, 110)");
  }
  return spec;
}

Classifier make_model(const std::string& text, const InputShape& input, int64_t classes) {
  const ModelSpec spec = parse_model_spec(text);
  if (spec.family == "mlp")
    return std::make_shared<MlpImpl>(MlpOptions(input, spec.values, classes));
  if (spec.family == "cnn")
    return std::make_shared<CnnImpl>(CnnOptions(input, spec.values[0], classes));
  if (spec.family == "resnet") {
    return std::make_shared<ResNetImpl>(ResNetOptions(input, spec.values[0], classes));
  }
  return std::make_shared<AlexNetImpl>(AlexNetOptions(input, classes));
}

ModelMeta model_meta(const std::string& spec, const DatasetInfo& info) {
  ModelMeta meta;
  meta.spec = spec;
  meta.input = {info.channels, info.height, info.width};
  meta.classes = info.classes;
  meta.dataset = info.name;
  meta.mean = info.mean;
  meta.std = info.std;
  meta.class_names = info.class_names;
  return meta;
}

void save_model(const Classifier& model, const ModelMeta& meta, const std::filesystem::path& path) {
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
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path.string());
  } catch (const c10::Error&) {
    throw StorageError("loading model " + path.string() +
                       ": not a readable LibTorch archive (truncated or not a checkpoint)");
  }
  torch::IValue format;
  check<StorageError>(archive.try_read("kdpipe.format", format) && format.isString() &&
                          format.toStringRef() == "kdpipe-model",
                      "loading model ", path.string(), ": not a kdpipe model (no kdpipe.format)");
  LoadedModel out;
  torch::IValue spec, classes, dataset;
  torch::Tensor input;
  archive.read("kdpipe.spec", spec);
  archive.read("kdpipe.classes", classes);
  archive.read("kdpipe.dataset", dataset);
  archive.read("kdpipe.input", input);
  out.meta.spec = spec.toStringRef();
  out.meta.classes = classes.toInt();
  out.meta.dataset = dataset.toStringRef();
  out.meta.input = {input[0].item<int64_t>(), input[1].item<int64_t>(), input[2].item<int64_t>()};
  torch::Tensor mean, std;
  torch::IValue names;
  if (archive.try_read("kdpipe.mean", mean) && archive.try_read("kdpipe.std", std) &&
      archive.try_read("kdpipe.class_names", names)) {
    out.meta.mean.assign(mean.data_ptr<float>(), mean.data_ptr<float>() + mean.numel());
    out.meta.std.assign(std.data_ptr<float>(), std.data_ptr<float>() + std.numel());
    for (const auto& n : names.toListRef()) out.meta.class_names.push_back(n.toStringRef());
  } else {
    const auto builtin = dataset_names();
    if (std::count(builtin.begin(), builtin.end(), out.meta.dataset) > 0) {
      const DatasetInfo info = dataset_info(out.meta.dataset);
      out.meta.mean = info.mean, out.meta.std = info.std, out.meta.class_names = info.class_names;
    }
  }
  out.model = make_model(out.meta.spec, out.meta.input, out.meta.classes);
  try {
    out.model->load(archive);
  } catch (const c10::Error& e) {
    throw StorageError("loading model " + path.string() + ": weights do not match spec '" +
                       out.meta.spec + "'");
  }
  return out;
}

int64_t parameter_count(const torch::nn::Module& model) {
  int64_t n = 0;
  for (const auto& p : model.parameters()) n += p.numel();
  return n;
}

}  // namespace kd
