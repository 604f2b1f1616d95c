// Training that resumes where it was killed: after every epoch, the whole state of a training run
// — weights and buffers, the optimiser's momentum, the global RNG, the epochs done and what was
// recorded for each — written atomically to one file in the stage's folder, and read back by the
// next run of the same training, which then goes on from the next epoch and ends with the same
// weights, bit for bit, as a run never killed (same threads and kernels). Shuffling and
// augmentation are functions of (seed, epoch, row), so they need no state of their own.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "lib/train/stage_result.h"

namespace kd {

/// Whether and how a training run keeps checkpoints. Execution only: not part of a stage's
/// identity.
struct ResumeOptions {
  /// What the training is (a hash of everything its result depends on); empty: no checkpoints.
  /// A checkpoint written for another key is ignored and replaced.
  TORCH_ARG(std::string, key);
  /// Fault injection for tests: after writing the checkpoint of this many epochs, the process
  /// kills itself (SIGKILL); 0: never.
  TORCH_ARG(int64_t, kill_after_epochs) = 0;
  /// Likewise, just before training step k (1-based, counted over all epochs): a kill in the
  /// middle of an epoch; 0: never.
  TORCH_ARG(int64_t, kill_at_step) = 0;
  /// Likewise, but the process stops itself (SIGSTOP) there: a rank that hangs.
  TORCH_ARG(int64_t, stop_at_step) = 0;
};

/// The files of a stage folder `dir` that hold its checkpoint: resume.pt, and resume.json (the
/// epochs done, for readers without LibTorch such as `kdpipe status`).
std::filesystem::path checkpoint_file(const std::filesystem::path& dir);
std::filesystem::path checkpoint_summary(const std::filesystem::path& dir);

/// The state saved after an epoch.
struct TrainingState {
  int64_t epochs_done = 0;
  int64_t epochs = 0;
  std::vector<torch::Tensor> parameters, buffers, momentum;  ///< momentum: undefined if none yet
  torch::Tensor rng;                                         ///< the global CPU generator's state
  std::vector<EpochRecord> records;                          ///< one per epoch done
};

/// Writes `state` for `key` to checkpoint_file(dir) (through a temporary file and a rename) and
/// then checkpoint_summary(dir). StorageError when it cannot.
void save_checkpoint(const std::filesystem::path& dir, const std::string& key,
                     const TrainingState& state);

/// The state saved in dir for `key`; nullopt when there is none, it was written for another key,
/// or it cannot be read (a torn or foreign file: training then starts from the first epoch).
std::optional<TrainingState> load_checkpoint(const std::filesystem::path& dir,
                                             const std::string& key);

/// Removes the checkpoint files of `dir` (a finished run needs none).
void remove_checkpoint(const std::filesystem::path& dir);

/// The epochs done in dir's checkpoint, from its summary: for `kdpipe status`; 0 when none.
int64_t checkpoint_epochs(const std::filesystem::path& dir);

}  // namespace kd
