// Writing and reading the HDF5 logit cache. The layout (DESIGN.md):
//   /logits        float32 or float16 [V, N, C], chunked along N: raw teacher logits, view 0
//                  un-augmented, view v of example i augmented with the draw (seed, v, i)
//   /probs/T=<t>   same shape: softmax(logits / t), one per requested temperature
//   or, in a top-k cache (format version 3, storage/top_k.h), instead of /logits:
//   /top_k/indices int16 [V, N, K]: the classes of the K largest probabilities, largest first
//   /probs/T=<t>   float16 [V, N, K]: those K probabilities at each temperature
//   /labels        int64 [N]
//   root attributes: CacheHeader's fields, plus chunks_done while the file is being written.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "storage/cache_header.h"
#include "storage/top_k.h"

namespace kd {

/// Examples of a cache as stored: a full cache's logits or a top-k cache's classes, each
/// [V, n, C or K]; the probabilities at each of the header's temperatures, the same shape; the
/// labels [n].
struct CacheChunk {
  torch::Tensor logits;
  torch::Tensor classes;
  std::vector<torch::Tensor> probs;
  torch::Tensor labels;
};

/// Builds a cache chunk by chunk under `<path>.partial`, renaming it to `path` when complete.
/// If a partial file with the same header is found (an interrupted run), writing resumes after
/// its last complete chunk; a partial file of another run, or one too damaged to open, is
/// replaced.
class LogitCacheWriter {
 public:
  /// `header.n`, `c`, `v`, `chunk`, `temperatures` and `dtype` fix the layout; deflate is the
  /// gzip level (0: none, and only then are chunks preallocated so a kill cannot damage metadata).
  LogitCacheWriter(std::filesystem::path path, CacheHeader header, int deflate = 0);
  ~LogitCacheWriter();
  LogitCacheWriter(const LogitCacheWriter&) = delete;
  LogitCacheWriter& operator=(const LogitCacheWriter&) = delete;

  int64_t chunk_count() const;
  /// Chunks already complete; the next write_chunk must be this one.
  int64_t chunks_done() const;
  /// Why an existing partial file was not resumed ("" if there was none or it was resumed).
  const std::string& restart_reason() const;

  /// Writes chunk k: logits float [V, n_k, C] and labels [n_k] of examples [k·chunk, k·chunk+n_k).
  /// Stores softmax(logits / t) for every temperature (in a top-k cache: the K largest of each
  /// row and their classes, not the logits), then flushes and marks the chunk done.
  void write_chunk(int64_t k, const torch::Tensor& logits, const torch::Tensor& labels);
  /// Writes chunk k as stored elsewhere (merging shards), as it is (no softmax recomputed), so
  /// that a merged cache holds exactly the values its shards hold.
  void copy_chunk(int64_t k, const CacheChunk& chunk);
  /// Closes the file and renames it to its final name. Every chunk must have been written.
  void finish();
  /// Gives up: removes the unfinished file and the lock. For failures a rerun cannot resume
  /// past (a teacher whose logits are not finite); a kill or a full disk keeps the file instead.
  void discard();

  /// Where an unfinished cache for `path` lives.
  static std::filesystem::path partial_path(const std::filesystem::path& path);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// A complete cache, opened and checked: format, version, completeness and shapes.
class LogitCache {
 public:
  /// StorageError naming the file and the field for a missing file, a file that is not HDF5 or
  /// is truncated, another format or version, an unfinished file, or shapes that disagree.
  explicit LogitCache(std::filesystem::path path);
  ~LogitCache();
  LogitCache(LogitCache&&) noexcept;
  LogitCache& operator=(LogitCache&&) noexcept;

  const std::filesystem::path& path() const;
  const CacheHeader& header() const;

  /// All logits as float32 [V, N, C]. StorageError for a top-k cache, which holds none.
  torch::Tensor logits() const;
  /// One view's logits as float32 [N, C].
  torch::Tensor logits(int64_t view) const;
  bool has_probs(double temperature) const;
  /// softmax(logits / t) as float32 [V, N, C] (a top-k cache's K largest: [V, N, K]);
  /// StorageError if t was not cached.
  torch::Tensor probs(double temperature) const;
  torch::Tensor labels() const;
  /// What a student learns from at temperature t, for every view and example: from a full
  /// cache's logits at any t; from a top-k cache at one of its temperatures (ConfigError
  /// otherwise), its rows checked first (StorageError naming the dataset and the first damaged
  /// row: a class out of range or repeated, values increasing or summing above 1 + K·2⁻¹⁰).
  SoftTargets targets(double t) const;
  /// The same read as they are asked for (a student of a training split read from its file):
  /// a view's rows a cache chunk at a time, the chunks last asked for kept within `memory` bytes
  /// (and at least 32 of them: a window of the chunked order and the next). The whole cache is
  /// read once first, a block at a time, so that damage is refused before any training.
  SoftTargets streamed_targets(double t, int64_t memory) const;
  /// Examples [first, first + rows) as stored (for merging shards a chunk at a time).
  CacheChunk read_rows(int64_t first, int64_t rows) const;
  /// Bytes the soft labels take on disk: /logits (or /top_k/indices) and every /probs/T=<t>.
  int64_t soft_label_bytes() const;

  /// StorageError naming the file, the field and both values unless the cache was made from
  /// exactly this data. `held_out`, for a training split: the examples of the file this run holds
  /// out for validation, so that a count that differs says which --val-size the cache took.
  void expect_data(const std::string& dataset, const std::string& split,
                   const std::string& fingerprint, int64_t n, int64_t held_out = -1) const;

  /// Reads everything and lists what is wrong: non-finite values, probabilities that are not
  /// softmax(logits / t) (in a top-k cache: the damage targets() refuses), labels outside
  /// [0, C). Empty when intact.
  std::vector<std::string> verify() const;

  struct Impl;

 private:
  void expect_logits() const;
  // ConfigError unless a top-k cache holds temperature t (a full cache holds any).
  void expect_temperature(double t) const;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kd
