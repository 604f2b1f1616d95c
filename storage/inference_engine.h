// The TBB pipeline that runs a teacher over a dataset, V views at a time:
//   serial in-order reader (example chunks) → parallel inference (a teacher replica per worker;
//   on CUDA each worker owns a stream and pinned host buffers) → serial in-order sink (the HDF5
//   writer, or nothing when measuring).
// The engine changes no process-wide setting: its workers run in a TBB arena of their own. The
// caller owns LibTorch's settings: on CPU, set its intra-op threads to 1 so that the workers
// fill the cores without oversubscribing them, and keep TF32 off (use_exact_float32) for logits
// that are the model's float32 ones; `kdpipe cache` does both.
#pragma once

#include <torch/torch.h>

#include <functional>

#include "lib/data/augment.h"
#include "lib/data/image_set.h"
#include "storage/teacher_model.h"

namespace kd {

/// Examples per chunk of a cache unless told otherwise: the HDF5 chunk, the teacher's batch, and
/// the unit a shard holds whole. Every default of a chunk (options, studies) is this one.
inline constexpr int64_t kDefaultChunk = 1024;

struct InferenceOptions {
  /// Views per example: view 0 un-augmented, view v >= 1 drawn from (seed, v, i).
  TORCH_ARG(int64_t, views) = 1;
  TORCH_ARG(Augment, augment) = Augment::shift_flip;
  TORCH_ARG(std::uint64_t, seed) = 0;
  /// Examples per chunk (one pipeline token; also the HDF5 chunk).
  TORCH_ARG(int64_t, chunk) = kDefaultChunk;
  /// Chunks before this one are skipped (a resumed run, a shard).
  TORCH_ARG(int64_t, first_chunk) = 0;
  /// Chunks from this one on are skipped (a shard); -1: none.
  TORCH_ARG(int64_t, end_chunk) = -1;
  /// Parallel inference workers (0: all cores).
  TORCH_ARG(int, workers) = 0;
  TORCH_ARG(torch::Device, device) = torch::kCPU;
};

/// Receives chunk k's logits float32 [V, n_k, C] on the CPU, in order, on one thread at a time.
using ChunkSink = std::function<void(int64_t k, const torch::Tensor& logits)>;

/// Runs `teacher` over every example of `set` (normalised as `info` says) and hands each chunk
/// to `sink`. Returns the number of images (examples × views) run. ConfigError before any work
/// when the device is not usable by this build (see check_device).
int64_t run_inference(const TeacherModel& teacher, const ImageSet& set, const DatasetInfo& info,
                      const InferenceOptions& options, const ChunkSink& sink);

/// Gives examples [first, first + count) of a split (the pipeline's reader calls it, one chunk at
/// a time, in order, on one thread).
using ExampleReader = std::function<ImageSet(int64_t first, int64_t count)>;

/// The same over a split of `n` examples read a chunk at a time by `read` (a training split
/// streamed from its file): the reader stage reads ahead of the workers, holding at most two
/// chunks per worker.
int64_t run_inference(const TeacherModel& teacher, int64_t n, const ExampleReader& read,
                      const DatasetInfo& info, const InferenceOptions& options,
                      const ChunkSink& sink);

}  // namespace kd
