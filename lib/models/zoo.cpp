#include "lib/models/zoo.h"

#include <algorithm>
#include <sstream>

#include "lib/core/error.h"
#include "lib/data/datasets.h"
#include "lib/models/alexnet.h"
#include "lib/models/cnn.h"
#include "lib/models/mlp.h"
#include "lib/models/resnet.h"
#include "lib/models/scripted_classifier.h"

namespace kd {

namespace {

[[noreturn]] void bad_spec(const std::string& text, const std::string& why) {
  throw ConfigError("--arch '" + text + "': " + why +
                    "; expected mlp:W1-W2-..., cnn:W, resnet:D (D = 6n+2), alexnet or "
                    "torchscript:FILE");
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
  if (spec.family == "torchscript") {
    if (rest.empty()) bad_spec(text, "torchscript needs a file after ':' (torchscript:model.pt)");
    spec.file = rest;
    return spec;
  }
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

namespace {

Classifier build(const ModelSpec& spec, const InputShape& input, int64_t classes, ModelInit init) {
  if (spec.family == "torchscript") {
    // A model from Python: its parameters trained here, drawn anew as PyTorch draws them (or
    // kept as the file holds them).
    const auto model = std::make_shared<ScriptedClassifierImpl>(spec.file, torch::kCPU,
                                                                "--arch '" + spec.text + "'");
    check<ConfigError>(!model->parameters().empty(), "--arch '", spec.text,
                       "': the module has no parameters to train");
    const auto params = model->parameters();
    check<ConfigError>(
        std::any_of(params.begin(), params.end(), [](const auto& p) { return p.requires_grad(); }),
        "--arch '", spec.text,
        "': every parameter was saved frozen (requires_grad = False): nothing to train");
    model->check_compatible(input, classes);
    if (init == ModelInit::seed) model->keep_note(model->reinitialise());
    return model;
  }
  if (spec.family == "mlp")
    return std::make_shared<MlpImpl>(MlpOptions(input, spec.values, classes));
  if (spec.family == "cnn") {
    return std::make_shared<CnnImpl>(CnnOptions(input, spec.values[0], classes));
  }
  if (spec.family == "resnet") {
    return std::make_shared<ResNetImpl>(ResNetOptions(input, spec.values[0], classes));
  }
  return std::make_shared<AlexNetImpl>(AlexNetOptions(input, classes));
}

}  // namespace

void check_init(const std::string& spec, ModelInit init) {
  check<ConfigError>(init == ModelInit::seed || spec.rfind("torchscript:", 0) == 0,
                     "--init file: only a torchscript:FILE model has weights of its own; '", spec,
                     "' is drawn from the seed");
}

Classifier make_model(const std::string& text, const InputShape& input, int64_t classes,
                      ModelInit init) {
  const ModelSpec spec = parse_model_spec(text);
  check_init(text, init);
  const std::string shape = input.text();
  const std::string inputs = input.features.empty() ? " images" : " feature arrays";
  // A feature array's examples are no images: of the zoo only the MLP (which flattens) takes them.
  check<ConfigError>(input.features.empty() || spec.family == "mlp" || spec.family == "torchscript",
                     "--arch '", text, "': ", spec.family == "alexnet" ? "an " : "a ", spec.family,
                     " takes images, and the data holds feature arrays of shape ", shape,
                     " (use mlp:… or your own model, torchscript:FILE)");
  const std::string too_big = "--arch '" + text + "': the model for " + shape + inputs + " and " +
                              std::to_string(classes) + " classes does not fit in memory";
  Classifier model;
  try {
    model = build(spec, input, classes, init);
  } catch (const std::bad_alloc&) {
    throw ConfigError(too_big);
  } catch (const c10::Error& e) {
    const std::string what = e.what_without_backtrace();
    if (what.find("allocate") == std::string::npos) throw;
    throw ConfigError(too_big + " (" + what.substr(0, what.find('\n')) + ")");
  }
  // One image through the model, before any data is loaded or trained on: a model that cannot
  // take this input (cnn:4 on 1x1 images) is a named refusal, not LibTorch's message mid-run.
  // Evaluation mode, so BatchNorm's statistics stay as built; no random numbers are drawn.
  const bool training = model->is_training();
  model->eval();
  try {
    const torch::NoGradGuard no_grad;
    const torch::Tensor z = model->forward(torch::zeros(input.batch(1)));
    check<ConfigError>(z.dim() == 2 && z.size(1) == classes, "--arch '", text, "': returned ",
                       z.sizes(), " for one ", shape, " input, expected [1, ", classes, "]");
  } catch (const c10::Error& e) {
    const std::string what = e.what_without_backtrace();
    throw ConfigError("--arch '" + text + "': cannot take " + shape + inputs + " (" +
                      what.substr(0, what.find('\n')) + ")");
  }
  model->train(training);
  return model;
}

ModelMeta model_meta(const std::string& spec, const DatasetInfo& info) {
  ModelMeta meta;
  meta.spec = spec;
  meta.input = info.input();
  meta.standardize = info.standardize;
  meta.classes = info.classes;
  meta.dataset = info.name;
  meta.mean = info.mean;
  meta.std = info.std;
  meta.class_names = info.class_names;
  return meta;
}

std::string initialisation_note(const Classifier& model) {
  const auto scripted = std::dynamic_pointer_cast<ScriptedClassifierImpl>(model);
  if (!scripted || scripted->kept().empty()) return "";
  std::string names;
  for (const std::string& n : scripted->kept()) names += (names.empty() ? "" : ", ") + n;
  return "kept as " + scripted->path().string() +
         " holds them (layers whose initialisation kdpipe does not know): " + names;
}

std::string penultimate_note(const Classifier& model) {
  const auto scripted = std::dynamic_pointer_cast<ScriptedClassifierImpl>(model);
  return scripted ? scripted->penultimate_note() : "";
}

int64_t parameter_count(const torch::nn::Module& model) {
  int64_t n = 0;
  for (const auto& p : model.parameters()) n += p.numel();
  return n;
}

}  // namespace kd
