#include <ATen/Parallel.h>

#include <algorithm>
#include <cstring>

#include "lib/core/error.h"
#include "storage/array_stream_impl.h"

namespace kd {

void ArrayStream::start_epoch(const EpochPattern& pattern, std::uint64_t seed, int64_t epoch,
                              const RankSlice& slice) {
  stop();
  check<ConfigError>(pattern.chunked, path_.string(),
                     ": a stream is read in a chunked order, not a whole-split permutation");
  const int64_t window_bytes = slice.most_of(pattern.window_examples()) * example_bytes();
  depth_ = memory_ > 0 ? std::clamp<int64_t>(memory_ / window_bytes - 1, 1, kMaxDepth) : 1;
  const std::vector<int64_t> chunks = chunk_order(size(), pattern, seed, epoch);
  producer_ = std::thread([this, pattern, seed, epoch, chunks, slice] {
    produce(pattern, seed, epoch, chunks, slice);
  });
}

void ArrayStream::produce(const EpochPattern& pattern, std::uint64_t seed, int64_t epoch,
                          const std::vector<int64_t>& chunks, const RankSlice& slice) {
  try {
    const auto n = static_cast<int64_t>(chunks.size());
    const int64_t held = slice.most_of(pattern.window_examples());
    for (int64_t first = 0, w = 0, at = 0; first < n; first += pattern.window, ++w) {
      {
        std::unique_lock<std::mutex> lock(mutex_);
        // Held at once: the window being read, those waiting, and the one next() takes from.
        changed_.wait(
            lock, [&] { return stopping_ || static_cast<int64_t>(ready_.size()) + 1 <= depth_; });
        if (stopping_) return;
      }
      const int64_t last = std::min(n, first + pattern.window);
      int64_t m = 0;
      for (int64_t c = first; c < last; ++c)
        m += std::min(size(), (chunks[c] + 1) * pattern.chunk) - chunks[c] * pattern.chunk;
      Window window;
      window.buffer = buffer(held);
      read_window(pattern, chunks, first, last, window_order(m, seed, epoch, w), at, slice, window);
      at += m;
      const std::lock_guard<std::mutex> lock(mutex_);
      ready_.push_back(std::move(window));
      changed_.notify_all();
    }
  } catch (...) {
    const std::lock_guard<std::mutex> lock(mutex_);
    failure_ = std::current_exception();
  }
  const std::lock_guard<std::mutex> lock(mutex_);
  done_ = true;
  changed_.notify_all();
}

void ArrayStream::read_window(const EpochPattern& pattern, const std::vector<int64_t>& chunks,
                              int64_t first, int64_t last, const torch::Tensor& visits, int64_t at,
                              const RankSlice& slice, Window& window) {
  const int64_t bytes = example_bytes();
  std::uint8_t* out = window.buffer.data_ptr<std::uint8_t>();
  const auto chunk_rows = [&](int64_t c) {
    const int64_t lo = chunks[c] * pattern.chunk;
    return std::make_pair(lo, std::min(size(), lo + pattern.chunk) - lo);
  };
  if (slice.ranks == 1) {  // every example: the window's chunks, one read each
    window.images = window.buffer.narrow(0, 0, visits.numel());
    window.order = visits;
    for (int64_t c = first, pos = 0; c < last; ++c) {
      const auto [lo, count] = chunk_rows(c);
      read_rows_hwc(lo, count, out + pos * bytes);
      pos += count;
    }
    return;
  }
  // The positions (in the chunks' concatenation) this rank visits, in the order it visits them,
  // and the same sorted: what is read.
  const int64_t* v = visits.data_ptr<int64_t>();
  std::vector<int64_t> kept;
  for (int64_t j = 0; j < visits.numel(); ++j)
    if (slice.keeps(at + j, size())) kept.push_back(v[j]);
  std::vector<int64_t> sorted = kept;
  std::sort(sorted.begin(), sorted.end());
  const auto k = static_cast<int64_t>(sorted.size());
  TORCH_INTERNAL_ASSERT(k <= window.buffer.size(0), "a rank's share of a window overflows");
  window.images = window.buffer.narrow(0, 0, k);
  torch::Tensor scratch;  // a whole chunk, where rows are read through HDF5
  for (int64_t c = first, begin = 0, i = 0; c < last; ++c) {
    const auto [lo, count] = chunk_rows(c);
    int64_t j = i;
    while (j < k && sorted[j] < begin + count) ++j;
    if (j > i && direct_) {
      // Read straight from the file: runs of consecutive rows, one read each.
      for (int64_t r = i; r < j;) {
        int64_t e = r + 1;
        while (e < j && sorted[e] == sorted[e - 1] + 1) ++e;
        read_rows_hwc(lo + sorted[r] - begin, e - r, out + r * bytes);
        r = e;
      }
    } else if (j > i) {
      // A compressed chunk is decompressed whole whatever is asked of it: read it once.
      if (!scratch.defined()) scratch = torch::empty({pattern.chunk * bytes}, torch::kUInt8);
      std::uint8_t* from = scratch.data_ptr<std::uint8_t>();
      read_rows_hwc(lo, count, from);
      for (int64_t r = i; r < j; ++r)
        std::memcpy(out + r * bytes, from + (sorted[r] - begin) * bytes,
                    static_cast<std::size_t>(bytes));
    }
    i = j, begin += count;
  }
  std::vector<int64_t> order(kept.size());
  for (std::size_t q = 0; q < kept.size(); ++q)
    order[q] = std::lower_bound(sorted.begin(), sorted.end(), kept[q]) - sorted.begin();
  window.order = torch::tensor(order, torch::kInt64);
}

void ArrayStream::advance() {
  if (current_.order.defined() && taken_ < current_.order.numel()) return;
  recycle(std::move(current_));  // handed back before the next one is waited for
  current_ = {};
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [&] { return !ready_.empty() || done_; });
  if (ready_.empty()) {
    if (failure_) std::rethrow_exception(failure_);
    throw StorageError(path_.string() + ": " + name_ + ": read past the end of the epoch");
  }
  current_ = std::move(ready_.front());
  ready_.pop_front();
  taken_ = 0;
  changed_.notify_all();
}

StreamedRows ArrayStream::next_rows(int64_t count) {
  if (count == 0)
    return {torch::empty({0, c_, h_, w_}, torch::kUInt8), torch::empty({0}, torch::kInt64)};
  advance();
  if (count <= current_.order.numel() - taken_) {
    // Inside one window: the batch is gathered from the window itself.
    StreamedRows r{current_.images.permute({0, 3, 1, 2}), current_.order.narrow(0, taken_, count)};
    taken_ += count;
    return r;
  }
  // Across windows (a batch now and then): the rows copied out of each.
  std::vector<torch::Tensor> parts;
  while (count > 0) {
    advance();
    // Row by row (LibTorch's index_select copies uint8 a byte at a time).
    const int64_t k = std::min(count, current_.order.numel() - taken_);
    const torch::Tensor part = torch::empty({k, h_, w_, c_}, torch::kUInt8);
    const int64_t bytes = example_bytes();
    const int64_t* at = current_.order.data_ptr<int64_t>() + taken_;
    const std::uint8_t* from = current_.images.data_ptr<std::uint8_t>();
    std::uint8_t* to = part.data_ptr<std::uint8_t>();
    at::parallel_for(0, k, 16, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i)
        std::memcpy(to + i * bytes, from + at[i] * bytes, static_cast<std::size_t>(bytes));
    });
    parts.push_back(part);
    taken_ += k;
    count -= k;
  }
  // [count, C, H, W] as a view of the rows as stored.
  const torch::Tensor rows = torch::cat(parts).permute({0, 3, 1, 2});
  return {rows, torch::arange(rows.size(0), torch::kInt64)};
}

torch::Tensor ArrayStream::buffer(int64_t examples) {
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    while (!spare_.empty()) {
      torch::Tensor b = std::move(spare_.back());
      spare_.pop_back();
      // Not one whose rows a caller still holds (StreamedRows of the last window): let it go.
      if (b.size(0) == examples && b.storage().use_count() == 1) return b;
    }
  }
  return torch::empty({examples, h_, w_, c_}, torch::kUInt8);
}

void ArrayStream::recycle(Window window) {
  if (!window.buffer.defined()) return;
  window.images = window.order = torch::Tensor();  // views of the buffer: gone before it is reused
  const std::lock_guard<std::mutex> lock(mutex_);
  spare_.push_back(std::move(window.buffer));
}

void ArrayStream::stop() {
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (producer_.joinable()) producer_.join();
  while (!ready_.empty()) {
    recycle(std::move(ready_.front()));
    ready_.pop_front();
  }
  recycle(std::move(current_));
  current_ = {};
  taken_ = 0;
  stopping_ = done_ = false;
  failure_ = nullptr;
}

}  // namespace kd
