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

#include <algorithm>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>

#include "lib/data/epoch_pattern.h"
#include "lib/data/image_set.h"

namespace kd {

/// What reading a stream takes besides its windows, counted in --memory: a block of rows read
/// whole (at most kStreamBlockBytes), the reader's piece buffer and its aligned O_DIRECT buffer.
constexpr int64_t kStreamBlockBytes = int64_t{4} << 20;
constexpr int64_t kStreamReadingBytes = int64_t{16} << 20;

/// Rows of `example_bytes` each in a block of at most kStreamBlockBytes (at least one, at most
/// `most`): how many examples a pass over a split takes at a time.
inline int64_t stream_block_rows(int64_t example_bytes, int64_t most) {
  return std::clamp<int64_t>(kStreamBlockBytes / std::max<int64_t>(1, example_bytes), 1,
                             std::max<int64_t>(1, most));
}

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

/// The part of an epoch one rank of a data-parallel training reads: the epoch's order is cut into
/// global batches of `batch` examples (the last may be shorter), and rank r of n takes rows
/// [m·r/n, m·(r+1)/n) of each batch of m. One rank (the default) takes everything.
struct RankSlice {
  int rank = 0, ranks = 1;
  int64_t batch = 1;
  /// This rank's rows of a batch of m: [first, second).
  std::pair<int64_t, int64_t> of_batch(int64_t m) const {
    return {m * rank / ranks, m * (rank + 1) / ranks};
  }
  /// Whether this rank reads position `p` of an epoch of `n` examples.
  bool keeps(int64_t p, int64_t n) const {
    if (ranks == 1) return true;
    const int64_t b = p / batch, at = p - b * batch;
    const auto [lo, hi] = of_batch(std::min(batch, n - b * batch));
    return at >= lo && at < hi;
  }
  /// The most of any `span` consecutive positions this rank reads.
  int64_t most_of(int64_t span) const {
    if (ranks == 1) return span;
    return (span / batch + 2) * ((batch + ranks - 1) / ranks);
  }
};

/// Rows a stream hands out: example b is images[at[b]]. `images` may be the stream's own window
/// (no copy): valid until the stream's next call.
struct StreamedRows {
  torch::Tensor images;  ///< uint8 [M, C, H, W], possibly a strided view
  torch::Tensor at;      ///< int64 [count]
};

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
  /// Starts epoch `epoch` of a chunked order: windows are read ahead in another thread, and of
  /// them only the examples `slice` takes (a rank's share of each batch).
  virtual void start_epoch(const EpochPattern& pattern, std::uint64_t seed, int64_t epoch,
                           const RankSlice& slice) = 0;
  void start_epoch(const EpochPattern& pattern, std::uint64_t seed, int64_t epoch) {
    start_epoch(pattern, seed, epoch, RankSlice{});
  }
  /// The next `count` examples of the epoch's order that the slice takes, where the stream holds
  /// them: a batch gathers its rows from there in one pass (make_batch), with no copy between.
  virtual StreamedRows next_rows(int64_t count) = 0;
  /// The same copied out, uint8 [count, C, H, W].
  torch::Tensor next(int64_t count) {
    const StreamedRows r = next_rows(count);
    return r.images.index_select(0, r.at);
  }
  /// Every example in the split's order, `block` at a time: fn(first row, images of the block).
  virtual void for_each_block(int64_t block,
                              const std::function<void(int64_t, const torch::Tensor&)>& fn) = 0;
  /// The examples at `rows` (split rows), in that order.
  virtual ImageSet read(const torch::Tensor& rows) = 0;
  /// A stream of the examples at `rows` (split rows, increasing), reading ahead within the same
  /// memory: a student's subset of the training split.
  std::shared_ptr<ExampleStream> subset(const torch::Tensor& rows) { return subset(rows, -1); }
  /// The same within `memory` bytes (negative: this stream's). The subset reads the file as this
  /// stream first saw it: a change since is refused, not read.
  virtual std::shared_ptr<ExampleStream> subset(const torch::Tensor& rows, int64_t memory) = 0;
};

}  // namespace kd
