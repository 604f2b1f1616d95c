// The training loop shared by teachers and students: SGD with Nesterov momentum and weight
// decay, a learning-rate schedule, deterministic shuffling and augmentation.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>

#include "lib/data/augment.h"
#include "lib/data/example_stream.h"
#include "lib/data/image_set.h"
#include "lib/dist/communicator.h"
#include "lib/models/classifier.h"
#include "lib/train/checkpoint.h"
#include "lib/train/progress.h"
#include "lib/train/schedule.h"

namespace kd {

struct TrainOptions {
  /// ConfigError naming the option for an impossible value.
  void validate() const;

  /// Passes over the training set.
  TORCH_ARG(int64_t, epochs) = 15;
  TORCH_ARG(int64_t, batch_size) = 128;
  /// Peak learning rate.
  TORCH_ARG(double, lr) = 0.1;
  /// Nesterov momentum.
  TORCH_ARG(double, momentum) = 0.9;
  TORCH_ARG(double, weight_decay) = 5e-4;
  TORCH_ARG(Schedule, schedule) = Schedule::cosine;
  /// Seeds the shuffling and the augmentation (weights are seeded by whoever builds the model).
  TORCH_ARG(std::uint64_t, seed) = 0;
  TORCH_ARG(Augment, augment) = Augment::none;
  TORCH_ARG(torch::Device, device) = torch::kCPU;
  /// Processes training together, each on its slice of every batch (lib/dist/data_parallel.h):
  /// part of the result's identity, since BatchNorm normalises over each rank's slice.
  TORCH_ARG(int64_t, ranks) = 1;
};

/// What a model trains on: a split held in memory, or one read from a file as it trains; and the
/// order its epochs visit it in (lib/data/example_stream.h), a property of the data.
struct TrainingSet {
  TrainingSet(const ImageSet& set, EpochPattern order = {}) : memory(&set), pattern(order) {}
  TrainingSet(ExampleStream& reader, EpochPattern order) : stream(&reader), pattern(order) {}
  int64_t size() const { return stream ? stream->size() : memory->size(); }
  torch::Tensor labels() const { return stream ? stream->labels() : memory->labels; }

  const ImageSet* memory = nullptr;
  ExampleStream* stream = nullptr;
  EpochPattern pattern;
};

/// The training split of `data`, streamed or held, in its order.
inline TrainingSet training_set(const Dataset& data) {
  return data.stream ? TrainingSet(*data.stream, data.order) : TrainingSet(data.train, data.order);
}

/// One training step's inputs. `rows` are the examples' rows in the training set.
struct Batch {
  torch::Tensor inputs;  ///< float [B, C, H, W] on the training device
  torch::Tensor labels;  ///< int64 [B] on the training device
  torch::Tensor rows;    ///< int64 [B] on the CPU
  int64_t epoch = 0;     ///< 0-based; the augmentation stream
};

/// The loss of a batch given the model's logits.
using LossFn = std::function<torch::Tensor(const torch::Tensor& logits, const Batch& batch)>;

/// Called after each epoch, with the model in training mode; may evaluate it.
using EpochFn = std::function<void(const EpochStats& stats)>;

/// Builds the inputs of a batch from its rows and the 0-based epoch. The default draws
/// options.augment with (options.seed, epoch, row); students replace it to replay cached views.
/// From a streamed split, `read` holds the examples at `rows`, read from the file (row b is
/// read.images[read.at[b]]); from a split held in memory it is empty (the caller holds the split).
using InputFn = std::function<torch::Tensor(const torch::Tensor& rows, int64_t epoch,
                                            const StreamedRows& read)>;

/// Checkpoints of a training run (lib/train/checkpoint.h): after every epoch but the last, the
/// whole state goes to `dir`; a run that finds a checkpoint of the same key there goes on after
/// its epochs and restores `records` (the caller's, one per epoch, pushed by its EpochFn).
struct Checkpointing {
  std::filesystem::path dir;  ///< empty, or resume.key() empty: no checkpoints
  ResumeOptions resume;
  std::vector<EpochRecord>* records = nullptr;
  /// Told the epochs done when a run resumes from a checkpoint.
  std::function<void(int64_t epochs_done)> on_resume;
};

/// Trains `model` on `train`, each epoch in its pattern's order. Unless `inputs` is given, example
/// i of epoch e is augmented with the draw for (options.seed, e, i). Throws TrainingError if the
/// loss stops being finite.
///
/// With `ranks` (options.ranks() of them), this process is one rank of a data-parallel training:
/// every rank visits the same permutation and takes its share of each global batch (rank r of N:
/// the r-th of N consecutive parts); each rank's loss counts its share of the global batch, the
/// gradients are summed over the ranks, so a step is the single process's step up to rounding.
/// Training statistics are summed over the ranks and BatchNorm's running statistics averaged
/// before `on_epoch` and every checkpoint. Only rank 0 should be given `on_epoch` and a
/// checkpoint folder; every rank resumes from rank 0's checkpoint.
void train_model(const Classifier& model, const TrainingSet& train, const DatasetInfo& info,
                 const TrainOptions& options, const LossFn& loss_fn, const EpochFn& on_epoch,
                 Progress& progress, const InputFn& inputs = {},
                 const Checkpointing& checkpointing = {}, Communicator* ranks = nullptr);

}  // namespace kd
