// The teach stage: train a teacher with label-smoothed cross-entropy, then evaluate it.
#pragma once

#include <filesystem>
#include <string>

#include "lib/data/datasets.h"
#include "lib/models/zoo.h"
#include "lib/train/stage_result.h"
#include "lib/train/trainer.h"
#include "teachers/mi_probe.h"

namespace kd {

struct TeachOptions {
  /// ConfigError naming the option for an impossible value; called before any work starts.
  void validate() const;
  /// validate() without looking at the data (which a study checks once for all its stages).
  void validate_settings() const;

  TORCH_ARG(DataOptions, data);
  /// Model spec (see lib/models/zoo.h).
  TORCH_ARG(std::string, arch) = "mlp:1200-1200";
  /// Where its first weights come from (file: a torchscript:FILE model's own).
  TORCH_ARG(ModelInit, init) = ModelInit::seed;
  /// Label smoothing ε in [0, 1) (for a TorchScript teacher: the ε it was trained with, as the
  /// user states it; it labels the teacher and is its targets' γ).
  TORCH_ARG(double, smoothing) = 0.0;
  /// A TorchScript classifier trained elsewhere: evaluate it instead of training one.
  TORCH_ARG(std::filesystem::path, torchscript);
  /// How images reach a TorchScript teacher, evaluated (--torchscript) or trained (--arch
  /// torchscript:FILE): "normalized" (the dataset's mean and standard deviation) or "unit"
  /// (pixels scaled to [0, 1]); see apply_input_mode.
  TORCH_ARG(std::string, input) = "normalized";
  TORCH_ARG(TrainOptions, train);
  /// The MI probe; its augmentation, seed and device are taken from `train`.
  TORCH_ARG(MiProbeOptions, mi);
  /// LibTorch threads used (recorded; set by the caller).
  TORCH_ARG(int, threads) = 1;
  /// Output directory: model.pt, metrics.json, train.log.
  TORCH_ARG(std::filesystem::path, out);
  /// Checkpoints every epoch in `out` (resume.pt), resumed by the next run of the same key.
  TORCH_ARG(ResumeOptions, resume);
};

/// What a teach stage measured: the stage's result and the MI probe's curve.
struct TeachResult {
  StageResult stage;
  std::vector<double> mi_per_epoch;  ///< one value for a TorchScript teacher: its final MI
  double mi_final = 0;
  std::string mi_note;  ///< why the probe used fewer examples than asked; empty otherwise
};

/// Trains and evaluates a teacher, writing DIR/model.pt, DIR/metrics.json and DIR/train.log.
/// With `torchscript`, evaluates that model instead (no training, no model.pt; the MI "curve" is
/// its final value). metrics.json (the result's serialisation) is written last: its presence
/// means the stage finished.
///
/// With `ranks`, this process is one rank of a data-parallel training (lib/train/trainer.h):
/// rank 0 does all of the above; the others train, log to stderr, write nothing and return an
/// empty result.
TeachResult teach(const TeachOptions& options, Progress& progress, Communicator* ranks = nullptr);

}  // namespace kd
