#include "lib/data/example_stream.h"

#include <algorithm>
#include <numeric>

#include "lib/core/hash.h"

namespace kd {

namespace {

constexpr std::uint64_t kShuffleKey = 0x73687566666c6521ULL;
constexpr std::uint64_t kChunkKey = 0x6368756e6b732121ULL;
constexpr std::uint64_t kWindowKey = 0x77696e646f772121ULL;

// [0, n) sorted by a keyed hash of each position: a permutation determined by `key`.
std::vector<int64_t> keyed_permutation(int64_t n, std::uint64_t key) {
  std::vector<std::uint64_t> keys(static_cast<std::size_t>(n));
  for (int64_t i = 0; i < n; ++i) keys[i] = mix64(key ^ static_cast<std::uint64_t>(i));
  std::vector<int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return keys[a] < keys[b]; });
  return order;
}

}  // namespace

std::string EpochPattern::text() const {
  if (!chunked) return "whole";
  return "chunked (" + std::to_string(chunk) + " examples a chunk, " + std::to_string(window) +
         " chunks a window)";
}

EpochPattern epoch_pattern(int64_t examples, int64_t example_bytes) {
  EpochPattern p;
  p.chunked = examples * example_bytes > kWholeShuffleBytes;
  return p;
}

torch::Tensor epoch_order(int64_t n, std::uint64_t seed, int64_t epoch) {
  return torch::tensor(
      keyed_permutation(n, counter_random(kShuffleKey, seed, static_cast<std::uint64_t>(epoch))),
      torch::kInt64);
}

std::vector<int64_t> chunk_order(int64_t n, const EpochPattern& pattern, std::uint64_t seed,
                                 int64_t epoch) {
  const int64_t chunks = (n + pattern.chunk - 1) / pattern.chunk;
  return keyed_permutation(chunks,
                           counter_random(kChunkKey, seed, static_cast<std::uint64_t>(epoch)));
}

torch::Tensor window_order(int64_t examples, std::uint64_t seed, int64_t epoch, int64_t w) {
  const std::uint64_t key = counter_random(kWindowKey ^ seed, static_cast<std::uint64_t>(epoch),
                                           static_cast<std::uint64_t>(w));
  return torch::tensor(keyed_permutation(examples, key), torch::kInt64);
}

torch::Tensor epoch_order(int64_t n, const EpochPattern& pattern, std::uint64_t seed,
                          int64_t epoch) {
  if (!pattern.chunked) return epoch_order(n, seed, epoch);
  const std::vector<int64_t> chunks = chunk_order(n, pattern, seed, epoch);
  std::vector<torch::Tensor> parts;
  for (std::size_t first = 0, w = 0; first < chunks.size(); first += pattern.window, ++w) {
    std::vector<int64_t> rows;
    for (std::size_t c = first; c < std::min(chunks.size(), first + pattern.window); ++c) {
      for (int64_t r = chunks[c] * pattern.chunk; r < std::min(n, (chunks[c] + 1) * pattern.chunk);
           ++r)
        rows.push_back(r);
    }
    const torch::Tensor members = torch::tensor(rows, torch::kInt64);
    parts.push_back(members.index_select(
        0, window_order(members.numel(), seed, epoch, static_cast<int64_t>(w))));
  }
  return torch::cat(parts);
}

}  // namespace kd
