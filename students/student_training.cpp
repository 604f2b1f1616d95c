#include "students/student_training.h"

#include <algorithm>
#include <numeric>

#include "lib/core/error.h"
#include "lib/core/hash.h"
#include "lib/data/example_stream.h"
#include "lib/losses/losses.h"

namespace kd {

namespace {
constexpr std::uint64_t kSubsetKey = 0x7375627365742d31ULL;  // fixed: same subset for every seed
}

torch::Tensor view_inputs(const ImageSet& train, const DatasetInfo& info, const ViewRecipe& recipe,
                          const torch::Tensor& ids, int64_t epoch, const torch::Tensor& at) {
  const int64_t view = epoch % recipe.views;
  return make_batch(train, info, at.defined() ? at : ids,
                    view == 0 ? Augment::none : recipe.augment, recipe.seed,
                    static_cast<std::uint64_t>(view), ids);
}

Baseline parse_baseline(const std::string& name) {
  if (name == "none") return Baseline::none;
  if (name == "hard") return Baseline::hard;
  if (name == "smooth") return Baseline::smooth;
  throw ConfigError("--baseline: expected none, hard or smooth, got '" + name + "'");
}

std::string to_string(Baseline baseline) {
  switch (baseline) {
    case Baseline::none:
      return "none";
    case Baseline::hard:
      return "hard";
    case Baseline::smooth:
      return "smooth";
  }
  return "none";
}

torch::Tensor training_subset(int64_t n, int64_t subset) {
  if (subset <= 0 || subset >= n) return torch::arange(n, torch::kInt64);
  std::vector<int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::partial_sort(order.begin(), order.begin() + subset, order.end(), [](int64_t a, int64_t b) {
    return counter_random(kSubsetKey, 0, a) < counter_random(kSubsetKey, 0, b);
  });
  order.resize(static_cast<std::size_t>(subset));
  std::sort(order.begin(), order.end());
  return torch::tensor(order, torch::kInt64);
}

void train_student(const Classifier& model, const TrainingSet& train, const DatasetInfo& info,
                   const torch::Tensor& ids, const ViewRecipe& recipe,
                   const StudentObjective& objective, const TeacherTargets& teacher,
                   const TrainOptions& options, const EpochFn& on_epoch, Progress& progress,
                   const Checkpointing& checkpointing, Communicator* ranks) {
  TORCH_CHECK(objective.baseline != Baseline::none || teacher, "distillation needs a teacher");
  // All of the training split (ids 0..n-1, ascending) is the split itself, not a second copy.
  const bool all = ids.numel() == train.size();
  ImageSet held;
  std::shared_ptr<ExampleStream> streamed;
  if (train.stream && !all) streamed = train.stream->subset(ids);
  if (!train.stream && !all) held = train.memory->select(ids);
  const TrainingSet subset = train.stream
                                 ? TrainingSet(streamed ? *streamed : *train.stream, train.pattern)
                                 : TrainingSet(all ? *train.memory : held, train.pattern);
  const InputFn inputs = [&](const torch::Tensor& rows, int64_t epoch, const StreamedRows& read) {
    const torch::Tensor chosen = ids.index_select(0, rows);
    return train.stream
               ? view_inputs(ImageSet{read.images, {}}, info, recipe, chosen, epoch, read.at)
               : view_inputs(*train.memory, info, recipe, chosen, epoch);
  };
  const torch::Device device = options.device();
  const LossFn loss = [&](const torch::Tensor& logits, const Batch& batch) {
    switch (objective.baseline) {
      case Baseline::hard:
        return smoothed_cross_entropy(logits, batch.labels, 0.0);
      case Baseline::smooth:
        return smoothed_cross_entropy(logits, batch.labels, objective.smoothing);
      case Baseline::none:
        break;
    }
    const torch::Tensor targets =
        teacher(ids.index_select(0, batch.rows), batch.epoch % recipe.views).to(device);
    return distillation_loss_to_targets(logits, targets, batch.labels, objective.temperature,
                                        objective.alpha, objective.student_temperature);
  };
  train_model(model, subset, info, options, loss, on_epoch, progress, inputs, checkpointing, ranks);
}

}  // namespace kd
