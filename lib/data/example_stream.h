// Training data larger than memory: the order an epoch visits the training split in, and the
// stream that reads it from a file a window of chunks at a time (storage/array_stream.h).
//
// The order is a property of the data, never of the machine: a training split of at most
// kWholeShuffleBytes of pixels is visited in a permutation of all its examples (kdpipe's order
// since 0.1); a larger one in a chunked order: its examples in chunks of kStreamChunk consecutive
// examples, the chunks in a seeded permutation, taken kStreamWindow chunks at a time, and the
// examples of each such window in a seeded permutation. A window is what a reader holds; memory
// only decides how many windows it reads ahead.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>

#include "lib/data/epoch_pattern.h"
#include "lib/data/image_set.h"

namespace kd {

/// A permutation of [0, n) determined by (seed, epoch): the whole-split order.
torch::Tensor epoch_order(int64_t n, std::uint64_t seed, int64_t epoch);

/// The order of epoch `epoch` under `pattern` (whole: epoch_order).
torch::Tensor epoch_order(int64_t n, const EpochPattern& pattern, std::uint64_t seed,
                          int64_t epoch);

/// The chunks of epoch `epoch` in the order they are read (chunked patterns): chunk c holds
/// examples [c * chunk, min(n, (c + 1) * chunk)); window w is chunks [w * window, ...) of it.
std::vector<int64_t> chunk_order(int64_t n, const EpochPattern& pattern, std::uint64_t seed,
                                 int64_t epoch);

/// The permutation of window `w`'s examples, as positions in its chunks' concatenation.
torch::Tensor window_order(int64_t examples, std::uint64_t seed, int64_t epoch, int64_t w);

/// A training split read from a file while it trains: uint8 images, labels held in memory.
class ExampleStream {
 public:
  virtual ~ExampleStream() = default;
  /// Examples in the split.
  virtual int64_t size() const = 0;
  /// int64 [N], in memory.
  virtual const torch::Tensor& labels() const = 0;
  /// One example's shape, [C, H, W].
  virtual std::vector<int64_t> example_shape() const = 0;
  /// Starts epoch `epoch` of a chunked order: windows are read ahead in another thread.
  virtual void start_epoch(const EpochPattern& pattern, std::uint64_t seed, int64_t epoch) = 0;
  /// The images of the next `count` examples of the epoch's order, uint8 [count, C, H, W].
  virtual torch::Tensor next(int64_t count) = 0;
  /// Every example in the split's order, `block` at a time: fn(first row, images of the block).
  virtual void for_each_block(int64_t block,
                              const std::function<void(int64_t, const torch::Tensor&)>& fn) = 0;
  /// The examples at `rows` (split rows), in that order.
  virtual ImageSet read(const torch::Tensor& rows) = 0;
  /// A stream of the examples at `rows` (split rows, increasing), reading ahead within the same
  /// memory: a student's subset of the training split.
  virtual std::shared_ptr<ExampleStream> subset(const torch::Tensor& rows) = 0;
};

}  // namespace kd
