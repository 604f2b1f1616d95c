// Models built from a spec string, and checkpoints that remember how to rebuild them.
//
//   mlp:1200-1200   fully connected, hidden widths separated by '-'
//   cnn:32          conv-BN-ReLU stages of widths 32, 64, 128
//   resnet:20       CIFAR ResNet of depth 20, 32, 56, 110 (any 6n+2)
//   alexnet         the small CIFAR AlexNet of Müller et al.
//   torchscript:F   the user's own model, a TorchScript file saved from Python; trained here
//                   (its parameters drawn anew by the seed, see ScriptedClassifierImpl)
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "lib/core/enum_names.h"
#include "lib/data/image_set.h"
#include "lib/models/classifier.h"

namespace kd {

struct ModelSpec {
  std::string family;           ///< mlp, cnn, resnet, alexnet or torchscript
  std::vector<int64_t> values;  ///< hidden widths, width or depth
  std::filesystem::path file;   ///< torchscript: the model's file
  std::string text;             ///< the spec as given
};

/// Parses a spec; ConfigError naming the spec and what was expected.
ModelSpec parse_model_spec(const std::string& text);

/// Where a model's first weights come from: drawn from the seed (LibTorch's generator, seeded by
/// the caller), or, for a torchscript:FILE model, the file's own weights (fine-tuning).
enum class ModelInit { seed, file };
template <>
struct EnumNames<ModelInit> {
  static constexpr std::array<const char*, 2> names = {"seed", "file"};
};

/// ConfigError unless `init` suits `spec` (only a torchscript:FILE model has weights of its own).
void check_init(const std::string& spec, ModelInit init);

/// Builds the model of `spec` for images of `input` shape and `classes` outputs.
Classifier make_model(const std::string& spec, const InputShape& input, int64_t classes,
                      ModelInit init = ModelInit::seed);

/// What a checkpoint records beside the weights.
struct ModelMeta {
  std::string spec;
  InputShape input;
  int64_t classes = 0;
  std::string dataset;  ///< the dataset the model was trained on
  /// Per-channel normalisation of its inputs: x = (pixel / 255 - mean) / std. Checkpoints older
  /// than these fields get a built-in dataset's values, or none.
  std::vector<float> mean;
  std::vector<float> std;
  std::vector<std::string> class_names;  ///< one per output, or empty when unknown
  /// Feature arrays (input.features): whether the model takes standardised values; mean and
  /// std are then per value.
  bool standardize = false;
};

/// The meta of a model of `spec` trained on `info`'s data.
ModelMeta model_meta(const std::string& spec, const DatasetInfo& info);

struct LoadedModel {
  Classifier model;
  ModelMeta meta;
};

/// Writes weights and meta to `path` atomically (LibTorch's archive format).
void save_model(const Classifier& model, const ModelMeta& meta, const std::filesystem::path& path);

/// Rebuilds the model a checkpoint describes and loads its weights; StorageError naming the file
/// when it is missing, not a kdpipe checkpoint, or does not match its own spec.
LoadedModel load_model(const std::filesystem::path& path);

/// One line on what a seed did not draw (a TorchScript model's parameters of layers kdpipe does
/// not know how to initialise), or "".
std::string initialisation_note(const Classifier& model);

/// Why `model` shows no penultimate layer (a TorchScript model without the features(x)/head
/// convention, see ScriptedClassifierImpl), in one line; "" when it shows one.
std::string penultimate_note(const Classifier& model);

/// Number of trainable parameters.
int64_t parameter_count(const torch::nn::Module& model);

}  // namespace kd
