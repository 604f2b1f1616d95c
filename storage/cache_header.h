// What a logit cache says about itself: the root attributes of the HDF5 file (DESIGN.md, "The
// logit cache"). Kept free of HDF5 types so students and tools can use it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kd {

constexpr const char* kCacheFormat = "kdpipe-logits";
/// 2 (kdpipe 0.3): fingerprints and hashes are XXH3-128 (32 hex digits), and /probs/T=<t> names
/// use the shortest text that reads back as t. Version 1 (FNV-1a fingerprints) is refused, named.
constexpr int64_t kCacheFormatVersion = 2;
/// 3 (kdpipe 0.5): a top-k cache (`kdpipe cache --top-k`): /top_k/indices and K values per row in
/// /probs/T=<t>, no /logits. Full caches stay version 2, readable by earlier kdpipe.
constexpr int64_t kTopKFormatVersion = 3;

/// How a top-k cache's rows are made whole again (storage/top_k.h).
enum class TopKRule {
  uniform,      ///< the missing mass 1 − Σ values spread evenly over the other C − K classes
  renormalise,  ///< the K values scaled to sum to 1; the other classes 0
};
/// "uniform" or "renormalise"; ConfigError naming --top-k-rule otherwise.
TopKRule parse_top_k_rule(const std::string& text);
std::string to_string(TopKRule rule);

struct CacheHeader {
  std::string format = kCacheFormat;
  int64_t format_version = kCacheFormatVersion;
  // The teacher.
  std::string teacher_source;     ///< "kdpipe" (a teach-stage checkpoint) or "torchscript"
  std::string teacher_arch;       ///< model spec, or "torchscript"
  double teacher_smoothing = -1;  ///< label smoothing ε it was trained with (-1: unknown)
  int64_t teacher_seed = -1;      ///< (-1: unknown)
  std::string teacher_checkpoint;
  std::string teacher_checkpoint_hash;
  // The data.
  std::string dataset;
  std::string split;  ///< train, val or test
  std::string dataset_fingerprint;
  std::vector<std::string> class_names;  ///< one per class (empty in caches written before 0.2)
  int64_t n = 0;                         ///< examples
  int64_t c = 0;                         ///< classes
  int64_t v = 0;                         ///< views (view 0 un-augmented)
  std::vector<double> temperatures;
  std::string augment;  ///< recipe of views 1..V-1
  int64_t augment_seed = 0;
  std::string
      input;  ///< how images were fed: "normalized" (per-channel mean/std) or "unit" ([0,1])
  /// Feature arrays: whether values were standardised, and the standard deviation (in value
  /// stds) of the Gaussian noise that made views 1..V-1 (whatever `augment` says); -1 for images.
  bool standardize = false;
  double feature_noise = -1;
  // The file.
  std::string dtype;  ///< "float32" or "float16" (always float16 in a top-k cache)
  /// K of a top-k cache (0: a full cache, logits and whole rows of probabilities), and the rule
  /// that rebuilds its rows.
  int64_t top_k = 0;
  TopKRule top_k_rule = TopKRule::uniform;
  int64_t chunk = 0;  ///< examples per chunk
  std::string kdpipe_version;
  std::string created;
  // A shard (kdpipe cache --shard i/n): whole chunks of the split, examples [first_example,
  // first_example + n). shard_count 0: a whole cache.
  int64_t shard_index = 0;
  int64_t shard_count = 0;
  int64_t first_example = 0;

  /// The name of the probabilities at temperature t: "/probs/T=<t>", t printed shortest.
  static std::string probs_path(double t);
  /// The classes of a top-k cache's values, int16 (int32 past 32767 classes) [V, N, K].
  static constexpr const char* kTopKIndicesPath = "/top_k/indices";

  /// The width of a row of /probs: C, or K in a top-k cache.
  int64_t row_width() const { return top_k > 0 ? top_k : c; }

  /// Fields that must agree for a partial file to be resumed; the first that differs as
  /// "field: this vs other", or "" when all agree.
  std::string differs_from(const CacheHeader& other) const;
};

}  // namespace kd
