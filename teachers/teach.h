// The teach stage: train a teacher with label-smoothed cross-entropy, then evaluate it.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "lib/data/datasets.h"
#include "lib/train/trainer.h"
#include "teachers/mi_probe.h"

namespace kd {

struct TeachOptions {
  /// ConfigError naming the option for an impossible value; called before any work starts.
  void validate() const;

  TORCH_ARG(DataOptions, data);
  /// Model spec (see lib/models/zoo.h).
  TORCH_ARG(std::string, arch) = "mlp:1200-1200";
  /// Label smoothing ε in [0, 1).
  TORCH_ARG(double, smoothing) = 0.0;
  TORCH_ARG(TrainOptions, train);
  /// The MI probe; its augmentation, seed and device are taken from `train`.
  TORCH_ARG(MiProbeOptions, mi);
  /// LibTorch threads used (recorded; set by the caller).
  TORCH_ARG(int, threads) = 1;
  /// Output directory: model.pt, metrics.json, train.log.
  TORCH_ARG(std::filesystem::path, out);
};

/// Trains and evaluates a teacher, writing DIR/model.pt, DIR/metrics.json and DIR/train.log.
/// metrics.json is written last: its presence means the stage finished. Returns its content.
nlohmann::json teach(const TeachOptions& options, Progress& progress);

}  // namespace kd
