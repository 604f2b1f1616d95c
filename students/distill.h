// The distill stage: train one student from a logit cache (never from a live teacher), or a
// baseline student trained alone, and evaluate it.
#pragma once

#include <filesystem>

#include "lib/data/datasets.h"
#include "lib/models/zoo.h"
#include "lib/train/stage_result.h"
#include "lib/train/trainer.h"
#include "students/student_training.h"

namespace kd {

/// The default of --val-every (and of a study's student.val-every).
inline constexpr int64_t kDefaultValEvery = 5;

struct DistillOptions {
  /// ConfigError naming the option for an impossible value; called before any work starts.
  void validate() const;
  /// validate() without looking at the data (which a study checks once for all its stages).
  void validate_settings() const;

  TORCH_ARG(DataOptions, data);
  /// The teacher's logit cache of the training split (optional for baselines: it then fixes only
  /// the views the baseline sees).
  TORCH_ARG(std::filesystem::path, cache);
  TORCH_ARG(std::string, arch) = "mlp:800-800";
  /// Where its first weights come from (file: a torchscript:FILE model's own: fine-tuning).
  TORCH_ARG(ModelInit, init) = ModelInit::seed;
  /// How images reach a torchscript:FILE student: "normalized" or "unit" (see apply_input_mode).
  TORCH_ARG(std::string, input) = "normalized";
  /// T: the teacher's logits are softened as softmax(z_t / T).
  TORCH_ARG(double, temperature) = 4.0;
  /// Weight of the distillation term; 1 − α weighs cross-entropy with the labels.
  TORCH_ARG(double, alpha) = 1.0;
  /// T_s, the student's temperature in the KL term (0: same as T; 1: Müller et al.).
  TORCH_ARG(double, student_temperature) = 0.0;
  /// A student trained alone instead: hard labels, or label smoothing with `smoothing`.
  TORCH_ARG(Baseline, baseline) = Baseline::none;
  TORCH_ARG(double, smoothing) = 0.0;
  /// Learn from this many training examples only (0: all), a fixed choice shared by all students.
  TORCH_ARG(int64_t, train_subset) = 0;
  /// Evaluate the validation split after every N-th epoch and after the last (0: the last only).
  /// Each evaluation is a forward pass over the split: every epoch, it was a quarter of a
  /// default-study student's arithmetic, for a curve no result depends on.
  TORCH_ARG(int64_t, val_every) = kDefaultValEvery;
  /// Views of a baseline without a cache: V, their augmentation and seed (as `kdpipe cache`).
  TORCH_ARG(ViewRecipe, views);
  /// Epochs, batch size, learning rate, schedule, seed (its augment is not used: views are).
  TORCH_ARG(TrainOptions, train);
  TORCH_ARG(int, threads) = 1;
  /// Output directory: model.pt, metrics.json, train.log.
  TORCH_ARG(std::filesystem::path, out);
  /// Checkpoints every epoch in `out` (resume.pt), resumed by the next run of the same key.
  TORCH_ARG(ResumeOptions, resume);
};

/// Trains and evaluates the student, writing DIR/model.pt, DIR/metrics.json (last) and
/// DIR/train.log. Returns what it measured (metrics.json is its serialisation). With `ranks`, one
/// rank of a data-parallel training: rank 0 writes; the others train, log to stderr and return an
/// empty result.
StageResult distill(const DistillOptions& options, Progress& progress,
                    Communicator* ranks = nullptr);

}  // namespace kd
