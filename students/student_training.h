// Training a student against a teacher's logits, view by view: at epoch e the student sees view
// (e mod V) of each example — view 0 the image itself, view v the augmentation drawn from
// (seed, v, i) — exactly the input the teacher's logits for that view were computed on.
#pragma once

#include <torch/torch.h>

#include <functional>

#include "lib/data/augment.h"
#include "lib/data/image_set.h"
#include "lib/models/classifier.h"
#include "lib/train/trainer.h"

namespace kd {

/// How the V views of each example are drawn (a cache's augment, augment_seed and V).
struct ViewRecipe {
  int64_t views = 1;
  Augment augment = Augment::shift_flip;  ///< as `kdpipe cache` draws views by default
  std::uint64_t seed = 0;
};

/// The inputs for training-split examples `ids` at `epoch`: view (epoch mod V). `train` is the
/// training split, or (`at` defined) images read from a stream where example b is train[at[b]].
torch::Tensor view_inputs(const ImageSet& train, const DatasetInfo& info, const ViewRecipe& recipe,
                          const torch::Tensor& ids, int64_t epoch, const torch::Tensor& at = {});

/// The teacher's targets [B, C] at the objective's temperature T (softmax(z_t / T), or a row
/// rebuilt from a top-k cache) for training-split examples `ids` under view `view`.
using TeacherTargets = std::function<torch::Tensor(const torch::Tensor& ids, int64_t view)>;

enum class Baseline { none, hard, smooth };
/// "none", "hard" or "smooth"; ConfigError otherwise.
Baseline parse_baseline(const std::string& name);
std::string to_string(Baseline baseline);

/// What the student minimises: distillation from a teacher, or (a baseline trained alone)
/// cross-entropy with hard or label-smoothed targets.
struct StudentObjective {
  Baseline baseline = Baseline::none;
  double smoothing = 0;            ///< ε of the smooth baseline
  double temperature = 1;          ///< T
  double alpha = 1;                ///< weight of the distillation term
  double student_temperature = 0;  ///< T_s (0: same as T)
};

/// The examples a student learns from: `subset` of the `n` training examples (all when 0), a
/// fixed pseudo-random choice shared by every student and seed, returned in ascending order.
torch::Tensor training_subset(int64_t n, int64_t subset);

/// Trains `model` on the training-split examples `ids` of `train` (held, or streamed: then a
/// stream of the subset reads them). `teacher` may be empty for baselines.
void train_student(const Classifier& model, const TrainingSet& train, const DatasetInfo& info,
                   const torch::Tensor& ids, const ViewRecipe& recipe,
                   const StudentObjective& objective, const TeacherTargets& teacher,
                   const TrainOptions& options, const EpochFn& on_epoch, Progress& progress,
                   const Checkpointing& checkpointing = {}, Communicator* ranks = nullptr);

}  // namespace kd
