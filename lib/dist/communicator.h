// The collective operations data-parallel training needs, behind an interface of kdpipe's own.
// Gloo (gloo_communicator.h) is the implementation on CPUs; a GPU build would add NCCL as another
// adapter, without touching the training loop.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <vector>

#include "lib/core/error.h"

namespace kd {

/// A collective that could not complete: a rank died, hung past the timeout, or the rendezvous
/// never formed. The process that sees it is not the one at fault.
class RankError : public Error {
  using Error::Error;
};

/// A collective started on every rank; wait() returns once its result is in place.
class PendingCollective {
 public:
  virtual ~PendingCollective() = default;
  /// RankError when the collective failed.
  virtual void wait() = 0;
};

/// One rank's handle on a group of ranks. Every rank must start the same collectives, on tensors
/// of the same sizes, in the same order.
class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  /// Starts replacing `tensor` (contiguous) on every rank by its sum over the ranks.
  virtual std::unique_ptr<PendingCollective> start_sum(torch::Tensor tensor) = 0;
  /// Replaces `tensor` (contiguous) on every rank by rank `root`'s.
  virtual void broadcast(torch::Tensor tensor, int root) = 0;

  /// start_sum, waited for.
  void sum(const torch::Tensor& tensor) { start_sum(tensor)->wait(); }
};

}  // namespace kd
