// Data-parallel training over a Communicator, as Python's DistributedDataParallel does it: the
// ranks start from rank 0's weights, each computes the gradient of its slice of the global batch,
// and the gradients are summed in flat buckets launched from gradient hooks while the backward
// pass is still running, so that communication overlaps computation.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "lib/dist/communicator.h"

namespace kd {

/// Sums the gradients of `parameters` over the ranks, a step at a time: construct it once, call
/// finish() after every backward pass; each parameter's grad then holds the sum of every rank's.
/// The first step probes the model: when every rank saw each parameter's gradient arrive exactly
/// once, later steps launch a bucket as soon as its gradients are in, in a fixed order on every
/// rank; otherwise (a parameter used twice, or not at all) buckets are launched after backward.
class GradientSum {
 public:
  /// Buckets of at most `bucket_elements`, filled in the reverse order of `parameters` (the order
  /// the backward pass produces their gradients); parameters that require no gradient are left
  /// out.
  GradientSum(Communicator& ranks, std::vector<torch::Tensor> parameters,
              int64_t bucket_elements = int64_t{1} << 20);
  ~GradientSum();
  GradientSum(const GradientSum&) = delete;
  GradientSum& operator=(const GradientSum&) = delete;

  /// Completes the step's sums (RankError when a rank failed, TrainingError when a parameter's
  /// gradient arrived twice after its bucket was launched).
  void finish();

  /// Whether buckets are launched during the backward pass.
  bool overlapping() const { return overlap_; }
  /// Seconds spent waiting in finish() for sums not yet done: communication that was not hidden.
  double waited_seconds() const { return waited_; }

 private:
  struct Bucket {
    torch::Tensor flat;
    std::vector<std::size_t> members;
    std::size_t missing = 0;  // gradients not yet in, this step
    std::unique_ptr<PendingCollective> pending;
  };
  void on_gradient(std::size_t i, const torch::Tensor& grad);
  void launch_ready();
  torch::Tensor slot(std::size_t i) const;
  void reset_step();

  Communicator& ranks_;
  std::vector<torch::Tensor> params_;
  std::vector<Bucket> buckets_;
  std::vector<std::size_t> bucket_of_;
  std::vector<int64_t> offset_of_;
  std::vector<int> arrivals_;  // per parameter, this step
  std::vector<unsigned> hooks_;
  std::size_t next_launch_ = 0;
  bool probed_ = false, overlap_ = false, late_ = false;
  double waited_ = 0;
};

/// Makes every rank's `tensors` equal to rank `root`'s.
void broadcast_tensors(Communicator& ranks, const std::vector<torch::Tensor>& tensors, int root);

/// Replaces every floating-point tensor of `tensors` by its mean over the ranks (BatchNorm's
/// running statistics); others are left as they are.
void average_floating(Communicator& ranks, const std::vector<torch::Tensor>& tensors);

}  // namespace kd
