// The cache stage: run a teacher over one split of a dataset and write its logit cache.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "lib/data/datasets.h"
#include "storage/cache_header.h"
#include "storage/inference_engine.h"

namespace kd {

struct CacheOptions {
  /// ConfigError naming the option for an impossible value; called before any work starts.
  void validate() const;
  /// validate() without looking at the data (which a study checks once for all its stages).
  void validate_settings() const;

  TORCH_ARG(DataOptions, data);
  /// train, val or test.
  TORCH_ARG(std::string, split) = "train";
  /// A teach-stage directory (or its model.pt); or leave empty and give `torchscript`.
  TORCH_ARG(std::filesystem::path, teacher);
  /// A TorchScript classifier file.
  TORCH_ARG(std::filesystem::path, torchscript);
  /// How images reach the teacher: "normalized" (the dataset's mean/std, as kdpipe teachers are
  /// trained) or "unit" (pixels scaled to [0, 1]).
  TORCH_ARG(std::string, input) = "normalized";
  TORCH_ARG(int64_t, views) = 1;
  TORCH_ARG(std::vector<double>, temperatures) = std::vector<double>{1.0};
  /// Augmentation of views 1..V-1.
  TORCH_ARG(Augment, augment) = Augment::shift_flip;
  TORCH_ARG(std::uint64_t, seed) = 0;
  /// Store float16 instead of float32.
  TORCH_ARG(bool, half) = false;
  /// Keep only the K largest probabilities of each row (float16) and their classes (0: the whole
  /// rows and the logits); `top_k_rule` rebuilds the rest on reading (storage/top_k.h).
  TORCH_ARG(int64_t, top_k) = 0;
  TORCH_ARG(TopKRule, top_k_rule) = TopKRule::uniform;
  /// gzip level 0-9 for the datasets (0: uncompressed; resumes are most robust then).
  TORCH_ARG(int, compress) = 0;
  TORCH_ARG(int64_t, chunk) = kDefaultChunk;
  TORCH_ARG(int, workers) = 0;
  TORCH_ARG(torch::Device, device) = torch::kCPU;
  /// The cache file to write.
  TORCH_ARG(std::filesystem::path, out);
  /// Shard `shard_index` of `shard_count` (0: the whole split): whole chunks only, chunks
  /// [i·K/n, (i+1)·K/n) of the split's K, so that merged shards hold exactly the unsharded cache
  /// (each chunk is one batch of the teacher's, the same in both).
  TORCH_ARG(int64_t, shard_index) = 0;
  TORCH_ARG(int64_t, shard_count) = 0;
  /// Fault injection for the tests of resuming: kill this process with SIGKILL once this many
  /// chunks are on disk (-1: never). The CLI fills it from KDPIPE_FAULT_KILL_AFTER_CHUNKS.
  TORCH_ARG(int64_t, kill_after_chunks) = -1;
};

struct CacheSummary {
  int64_t images = 0;          ///< examples × views inferred in this run
  int64_t chunks_resumed = 0;  ///< chunks found complete from an interrupted run
  int64_t chunks = 0;
  double seconds = 0;
};

/// Writes the cache (see storage/logit_cache.h); `log` receives progress lines.
CacheSummary build_cache(const CacheOptions& options,
                         const std::function<void(const std::string&)>& log);

}  // namespace kd
