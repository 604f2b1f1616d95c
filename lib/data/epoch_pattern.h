// The order an epoch visits a training split in: a property of the data, never of the machine
// (lib/data/example_stream.h has the orders themselves and the stream that reads them).
#pragma once

#include <cstdint>
#include <string>

namespace kd {

/// Training splits of more pixels than this are visited in the chunked order.
constexpr int64_t kWholeShuffleBytes = int64_t{256} << 20;
/// Consecutive examples read together (an array file's HDF5 chunk holds 256 examples).
constexpr int64_t kStreamChunk = 256;
/// Chunks whose examples are shuffled together.
constexpr int64_t kStreamWindow = 16;

/// How an epoch orders the training split.
struct EpochPattern {
  bool chunked = false;  ///< false: one permutation of the whole split
  int64_t chunk = kStreamChunk;
  int64_t window = kStreamWindow;  ///< chunks per window

  /// "whole" or "chunked (256 examples a chunk, 16 chunks a window)": for metrics.json and the
  /// stage's identity.
  std::string text() const;
  /// Examples in a window.
  int64_t window_examples() const { return chunk * window; }
};

/// The pattern of a training split of `examples`, each `example_bytes` bytes.
EpochPattern epoch_pattern(int64_t examples, int64_t example_bytes);

}  // namespace kd
