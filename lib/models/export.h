// A kdpipe model as a self-contained TorchScript module: what `kdpipe export` writes, and what
// Python's torch.jit.load and `kdpipe teach --torchscript` read back.
//
// The module's methods:
//   forward(x)          logits of float images normalised as kdpipe feeds its models,
//                       x = (pixel / 255 - mean) / std, shape [B, C, H, W]
//   preprocess(images)  uint8 (or float 0-255) pixels [B, C, H, W] → forward's input
//   classify(images)    forward(preprocess(images))
//   features(x)         the penultimate activations
// and attributes: class_names, mean, std, input_shape ([C, H, W]), arch, dataset.
// The same description is stored as the extra file "kdpipe.json" in the archive.
#pragma once

#include <torch/script.h>

#include <filesystem>
#include <string>

#include "lib/models/zoo.h"

namespace kd {

/// The TorchScript module of `model`; ConfigError when its meta lacks the normalisation.
torch::jit::Module to_torchscript(const LoadedModel& model);

/// What export records beside the weights, as JSON text (also the "kdpipe.json" extra file).
std::string export_description(const ModelMeta& meta);

/// ConfigError unless a file `kdpipe export` wrote is fed as its model was trained: its
/// kdpipe.json records mean 0 and std 1 for a model of pixels in [0, 1] (`input` "unit"), the
/// dataset's normalisation otherwise ("normalized"). Nothing to check for other TorchScript files.
void check_exported_input(const std::filesystem::path& path, const std::string& input);

/// Writes to_torchscript(model) to `path` atomically.
void export_torchscript(const LoadedModel& model, const std::filesystem::path& path);

}  // namespace kd
