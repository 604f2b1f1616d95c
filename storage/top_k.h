// Top-k soft labels (`kdpipe cache --top-k K`): of each example's probabilities at a temperature
// only the K largest are stored, as float16, with their classes (int16 while C <= 32767; the same
// classes at every temperature, since softmax keeps the order of the logits). The rest of the row
// is rebuilt on reading by the rule the cache records, as TinyViT and FKD do.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>

#include "storage/cache_header.h"

namespace kd {

/// The classes of the K largest logits of each row of `logits` [..., C], largest first: int64
/// [..., K].
torch::Tensor top_k_classes(const torch::Tensor& logits, int64_t k);

/// Dense rows [..., C], float32 (or `type`), from K stored probabilities `values` [..., K] and
/// their `classes` [..., K]. Under `uniform` a negative missing mass (float16 rounding) counts as
/// 0.
torch::Tensor reconstruct_top_k(const torch::Tensor& values, const torch::Tensor& classes,
                                int64_t c, TopKRule rule, torch::ScalarType type = torch::kFloat32);

/// The most the K stored values of a row may sum to: 1 plus float16's rounding of each.
double top_k_mass_limit(int64_t k);

/// What makes stored classes [V, n, K] impossible, or "": a class outside [0, C), or one class
/// twice in a row; named by view and example (the first example of the block is `first_example`).
std::string top_k_classes_problem(const torch::Tensor& classes, int64_t c, int64_t first_example);

/// What makes stored values [V, n, K] of C classes impossible, or "": not finite or negative,
/// increasing along a row (they are stored largest first), summing above top_k_mass_limit(K), or
/// leaving out more mass than the other C − K classes can hold, each at most the smallest kept
/// value (an all-zero row; K = C summing short of 1).
std::string top_k_values_problem(const torch::Tensor& values, int64_t c, int64_t first_example);

/// Where targets that are not held come from (a cache read as a student asks for its rows).
class TargetSource {
 public:
  virtual ~TargetSource() = default;
  virtual int64_t views() const = 0;
  /// Dense targets [B, C] of examples `rows` under view `view`, as SoftTargets::rows.
  virtual torch::Tensor rows(int64_t view, const torch::Tensor& rows,
                             torch::ScalarType type) const = 0;
};

/// A teacher's targets at one temperature for every view and example, held as the cache holds
/// them (full logits, or K values and classes per row) and made dense a batch at a time; or read
/// from a source as they are asked for.
class SoftTargets {
 public:
  SoftTargets() = default;
  /// softmax(z / t) of full logits float [V, N, C].
  static SoftTargets of_logits(torch::Tensor logits, double t);
  /// Rebuilt from top-k rows: `values` [V, N, K] (any float type) and `classes` [V, N, K].
  static SoftTargets of_top_k(torch::Tensor values, torch::Tensor classes, int64_t c,
                              TopKRule rule);

  /// Targets read from `source`.
  static SoftTargets of_source(std::shared_ptr<const TargetSource> source);

  bool defined() const { return logits_.defined() || values_.defined() || source_; }
  int64_t views() const;
  /// Dense targets [B, C] of examples `rows` (int64 [B]) under view `view`, as `type`.
  torch::Tensor rows(int64_t view, const torch::Tensor& rows,
                     torch::ScalarType type = torch::kFloat32) const;

 private:
  torch::Tensor logits_;
  double t_ = 1;
  torch::Tensor values_, classes_;
  int64_t c_ = 0;
  TopKRule rule_ = TopKRule::uniform;
  std::shared_ptr<const TargetSource> source_;
};

}  // namespace kd
