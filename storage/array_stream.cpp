#include "storage/array_stream.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <numeric>
#include <optional>
#include <thread>

#include "lib/core/error.h"
#include "storage/array_file_checks.h"
#include "storage/direct_rows.h"
#include "storage/file_stamp.h"

namespace kd {

namespace fs = std::filesystem;

namespace {

// File rows read in one call at most this many bytes apart (the scratch a read holds).
constexpr int64_t kPieceBytes = int64_t{8} << 20;
// Windows read ahead at most.
constexpr int64_t kMaxDepth = 4;

class ArrayStream final : public ExampleStream {
 public:
  // `stamp`: the file as it was when the data were first opened; `direct`: its direct reader
  // (subset() passes its own of both).
  ArrayStream(const fs::path& path, const std::string& split, std::vector<int64_t> rows,
              int64_t memory, std::optional<FileStamp> stamp = std::nullopt,
              std::shared_ptr<DirectRows> direct = nullptr);
  ~ArrayStream() override { stop(); }
  ArrayStream(const ArrayStream&) = delete;
  ArrayStream& operator=(const ArrayStream&) = delete;

  int64_t size() const override { return static_cast<int64_t>(rows_.size()); }
  const torch::Tensor& labels() const override { return labels_; }
  std::vector<int64_t> example_shape() const override { return {c_, h_, w_}; }
  void start_epoch(const EpochPattern& pattern, std::uint64_t seed, int64_t epoch) override;
  torch::Tensor next(int64_t count) override;
  void for_each_block(int64_t block,
                      const std::function<void(int64_t, const torch::Tensor&)>& fn) override;
  ImageSet read(const torch::Tensor& rows) override;
  std::shared_ptr<ExampleStream> subset(const torch::Tensor& rows) override;

 private:
  // A window is held as the file stores it, [m, H, W, C]: reading it is one copy, and the
  // turn to [C, H, W] happens once, in make_batch's own gather.
  struct Window {
    torch::Tensor buffer;  ///< a whole window's worth, reused (the last window uses part of it)
    torch::Tensor images;  ///< uint8 [m, H, W, C]: its chunks' examples, chunk after chunk
    torch::Tensor order;   ///< int64 [m]: the positions in the order they are visited
  };
  int64_t example_bytes() const { return c_ * h_ * w_; }
  // Split rows [first, first + count) into `out`: uint8 [count, H, W, C] as stored.
  void read_rows_hwc(int64_t first, int64_t count, std::uint8_t* out);
  // The same into `out`, uint8 [count, C, H, W].
  void read_rows(int64_t first, int64_t count, const torch::Tensor& out);
  void produce(const EpochPattern& pattern, std::uint64_t seed, int64_t epoch,
               const std::vector<int64_t>& chunks);
  void stop();
  // A window's buffer: one handed back, or a new one. Buffers are reused across windows and
  // epochs, so the stream's memory is that of its windows whatever the allocator does.
  torch::Tensor buffer(const EpochPattern& pattern);
  void recycle(Window window);

  fs::path path_;
  std::string split_, name_;
  FileStamp stamp_;
  Opened opened_;
  h5::Handle images_;
  std::shared_ptr<DirectRows> direct_;  ///< reading past HDF5 where the layout allows
  bool has_channels_ = true;
  int64_t c_ = 0, h_ = 0, w_ = 0;
  std::vector<int64_t> rows_;
  torch::Tensor labels_;
  int64_t memory_ = 0;

  // The epoch being read: the producer thread fills `ready_`, next() empties it.
  std::thread producer_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Window> ready_;
  int64_t depth_ = 1;
  bool stopping_ = false, done_ = false;
  std::exception_ptr failure_;
  Window current_;
  int64_t taken_ = 0;
  std::vector<torch::Tensor> spare_;  ///< buffers handed back (under mutex_)
};

ArrayStream::ArrayStream(const fs::path& path, const std::string& split, std::vector<int64_t> rows,
                         int64_t memory, std::optional<FileStamp> stamp,
                         std::shared_ptr<DirectRows> direct)
    : path_(path),
      split_(split),
      name_("/" + split + "/images"),
      stamp_(stamp ? *stamp : FileStamp::of(path)),
      memory_(memory) {
  opened_ = open_checked(path);
  stamp_.expect_unchanged(path_);
  const SplitShape& s = split == "test" ? opened_.test : opened_.train;
  check<DataError>(s.features.empty(), path.string(), ": /", split,
                   " holds feature arrays; only images are read as a stream");
  c_ = s.channels, h_ = s.height, w_ = s.width;
  images_ = h5::open_dataset(opened_.file.get(), name_, path);
  direct_ = direct ? std::move(direct) : DirectRows::open(path, images_.get(), example_bytes());
  has_channels_ = h5::shape(images_, path).size() == 4;
  if (rows.empty()) {
    rows.resize(static_cast<std::size_t>(s.n));
    std::iota(rows.begin(), rows.end(), 0);
  }
  for (std::size_t i = 0; i < rows.size(); ++i) {
    check<ConfigError>(rows[i] >= 0 && rows[i] < s.n && (i == 0 || rows[i] > rows[i - 1]),
                       path.string(), ": stream rows must increase within [0, ", s.n, ")");
  }
  rows_ = std::move(rows);
  labels_ = read_labels(opened_.file.get(), path, split, s.n)
                .index_select(0, torch::tensor(rows_, torch::kInt64));
}

void ArrayStream::read_rows_hwc(int64_t first, int64_t count, std::uint8_t* out) {
  stamp_.expect_unchanged(path_);
  const int64_t bytes = example_bytes();
  const int64_t piece = std::max<int64_t>(1, kPieceBytes / bytes);
  torch::Tensor scratch;
  for (int64_t k = 0; k < count;) {
    const int64_t lo = rows_[first + k];
    int64_t end = k + 1;
    while (end < count && rows_[first + end] - lo < piece) ++end;
    const int64_t span = rows_[first + end - 1] - lo + 1;
    // Consecutive file rows go straight to `out`; rows with others between them (the validation
    // split's) through a scratch block, then row by row.
    const bool direct = span == end - k;
    if (!direct && (!scratch.defined() || scratch.numel() < span * bytes))
      scratch = torch::empty({span * bytes}, torch::kUInt8);
    std::uint8_t* to = direct ? out + k * bytes : scratch.data_ptr<std::uint8_t>();
    std::vector<hsize_t> start = {static_cast<hsize_t>(lo), 0, 0};
    std::vector<hsize_t> size = {static_cast<hsize_t>(span), static_cast<hsize_t>(h_),
                                 static_cast<hsize_t>(w_)};
    if (has_channels_) start.push_back(0), size.push_back(static_cast<hsize_t>(c_));
    if (direct_) {
      direct_->read(lo, span, to);
    } else {
      h5::read_block(images_, H5T_NATIVE_UINT8, start, size, to, path_, "reading " + name_);
    }
    if (!direct) {
      for (int64_t i = k; i < end; ++i)
        std::memcpy(out + i * bytes, to + (rows_[first + i] - lo) * bytes,
                    static_cast<std::size_t>(bytes));
    }
    k = end;
  }
}

void ArrayStream::read_rows(int64_t first, int64_t count, const torch::Tensor& out) {
  // A piece at a time through one buffer: a split read whole takes its own size, not twice that.
  const int64_t piece = std::clamp<int64_t>(kPieceBytes / example_bytes(), 1, count);
  const torch::Tensor hwc = torch::empty({piece, h_, w_, c_}, torch::kUInt8);
  for (int64_t at = 0; at < count; at += piece) {
    const int64_t k = std::min(piece, count - at);
    read_rows_hwc(first + at, k, hwc.data_ptr<std::uint8_t>());
    out.narrow(0, at, k).copy_(hwc.narrow(0, 0, k).permute({0, 3, 1, 2}));
  }
}

void ArrayStream::for_each_block(int64_t block,
                                 const std::function<void(int64_t, const torch::Tensor&)>& fn) {
  for (int64_t first = 0; first < size(); first += block) {
    const int64_t count = std::min(block, size() - first);
    const torch::Tensor images = torch::empty({count, c_, h_, w_}, torch::kUInt8);
    read_rows(first, count, images);
    fn(first, images);
  }
}

ImageSet ArrayStream::read(const torch::Tensor& rows_in) {
  const torch::Tensor rows = rows_in.to(torch::kInt64).contiguous();
  const int64_t m = rows.numel();
  const int64_t* r = rows.data_ptr<int64_t>();
  for (int64_t i = 0; i < m; ++i)
    check<ConfigError>(r[i] >= 0 && r[i] < size(), "row ", r[i], " of ", name_, " in ",
                       path_.string(), " is out of range [0, ", size(), ")");
  std::vector<int64_t> unique(r, r + m);
  std::sort(unique.begin(), unique.end());
  unique.erase(std::unique(unique.begin(), unique.end()), unique.end());
  const auto u = static_cast<int64_t>(unique.size());
  const torch::Tensor got = torch::empty({u, c_, h_, w_}, torch::kUInt8);
  for (int64_t i = 0; i < u;) {  // runs of consecutive rows, one read each
    int64_t j = i + 1;
    while (j < u && unique[j] == unique[j - 1] + 1) ++j;
    read_rows(unique[i], j - i, got.narrow(0, i, j - i));
    i = j;
  }
  if (u == m && std::is_sorted(r, r + m)) return {got, labels_.index_select(0, rows)};  // as read
  std::vector<int64_t> at(static_cast<std::size_t>(m));
  for (int64_t i = 0; i < m; ++i)
    at[i] = std::lower_bound(unique.begin(), unique.end(), r[i]) - unique.begin();
  return {got.index_select(0, torch::tensor(at, torch::kInt64)), labels_.index_select(0, rows)};
}

std::shared_ptr<ExampleStream> ArrayStream::subset(const torch::Tensor& rows_in) {
  const torch::Tensor rows = rows_in.to(torch::kInt64).contiguous();
  std::vector<int64_t> file_rows;
  for (int64_t i = 0; i < rows.numel(); ++i) {
    const int64_t r = rows.data_ptr<int64_t>()[i];
    check<ConfigError>(r >= 0 && r < size(), "row ", r, " of ", name_, " in ", path_.string(),
                       " is out of range [0, ", size(), ")");
    file_rows.push_back(rows_[static_cast<std::size_t>(r)]);
  }
  return std::make_shared<ArrayStream>(path_, split_, std::move(file_rows), memory_, stamp_,
                                       direct_);
}

void ArrayStream::start_epoch(const EpochPattern& pattern, std::uint64_t seed, int64_t epoch) {
  stop();
  check<ConfigError>(pattern.chunked, path_.string(),
                     ": a stream is read in a chunked order, not a whole-split permutation");
  const int64_t window_bytes = pattern.window_examples() * example_bytes();
  depth_ = memory_ > 0 ? std::clamp<int64_t>(memory_ / window_bytes - 1, 1, kMaxDepth) : 1;
  const std::vector<int64_t> chunks = chunk_order(size(), pattern, seed, epoch);
  producer_ =
      std::thread([this, pattern, seed, epoch, chunks] { produce(pattern, seed, epoch, chunks); });
}

void ArrayStream::produce(const EpochPattern& pattern, std::uint64_t seed, int64_t epoch,
                          const std::vector<int64_t>& chunks) {
  try {
    const auto n = static_cast<int64_t>(chunks.size());
    for (int64_t first = 0, w = 0; first < n; first += pattern.window, ++w) {
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
      window.buffer = buffer(pattern);
      window.images = window.buffer.narrow(0, 0, m);
      window.order = window_order(m, seed, epoch, w);
      for (int64_t c = first, at = 0; c < last; ++c) {
        const int64_t lo = chunks[c] * pattern.chunk;
        const int64_t count = std::min(size(), lo + pattern.chunk) - lo;
        read_rows_hwc(lo, count, window.images.data_ptr<std::uint8_t>() + at * example_bytes());
        at += count;
      }
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

torch::Tensor ArrayStream::next(int64_t count) {
  std::vector<torch::Tensor> parts;
  while (count > 0) {
    if (!current_.order.defined() || taken_ == current_.order.numel()) {
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
  return (parts.size() == 1 ? parts[0] : torch::cat(parts)).permute({0, 3, 1, 2});
}

torch::Tensor ArrayStream::buffer(const EpochPattern& pattern) {
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    while (!spare_.empty()) {
      torch::Tensor b = std::move(spare_.back());
      spare_.pop_back();
      if (b.size(0) == pattern.window_examples()) return b;
    }
  }
  return torch::empty({pattern.window_examples(), h_, w_, c_}, torch::kUInt8);
}

void ArrayStream::recycle(Window window) {
  if (!window.buffer.defined()) return;
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

}  // namespace

std::shared_ptr<ExampleStream> open_array_stream(const fs::path& path, const std::string& split,
                                                 std::vector<int64_t> rows, int64_t memory) {
  return std::make_shared<ArrayStream>(path, split, std::move(rows), memory);
}

}  // namespace kd
