// The stream of storage/array_stream.h: its reads of rows (array_stream.cpp) and its epochs, a
// window of chunks at a time read ahead by one thread (array_stream_epoch.cpp). Internal to
// storage/.
#pragma once

#include <condition_variable>
#include <deque>
#include <exception>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "lib/data/example_stream.h"
#include "storage/array_file_checks.h"
#include "storage/direct_rows.h"
#include "storage/file_stamp.h"

namespace kd {

class ArrayStream final : public ExampleStream {
 public:
  // `stamp`: the file as it was when the data were first opened; `direct`: its direct reader
  // (subset() passes its own of both).
  ArrayStream(const std::filesystem::path& path, const std::string& split,
              std::vector<int64_t> rows, int64_t memory,
              std::optional<FileStamp> stamp = std::nullopt,
              std::shared_ptr<DirectRows> direct = nullptr);
  ~ArrayStream() override { stop(); }
  ArrayStream(const ArrayStream&) = delete;
  ArrayStream& operator=(const ArrayStream&) = delete;

  int64_t size() const override { return static_cast<int64_t>(rows_.size()); }
  const torch::Tensor& labels() const override { return labels_; }
  std::vector<int64_t> example_shape() const override { return {c_, h_, w_}; }
  using ExampleStream::start_epoch;
  void start_epoch(const EpochPattern& pattern, std::uint64_t seed, int64_t epoch,
                   const RankSlice& slice) override;
  StreamedRows next_rows(int64_t count) override;
  void for_each_block(int64_t block,
                      const std::function<void(int64_t, const torch::Tensor&)>& fn) override;
  ImageSet read(const torch::Tensor& rows) override;
  using ExampleStream::subset;
  std::shared_ptr<ExampleStream> subset(const torch::Tensor& rows, int64_t memory) override;

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
               const std::vector<int64_t>& chunks, const RankSlice& slice);
  // Of window `w` (chunks [first, last) of `chunks`, its first example at epoch position `at`),
  // the examples `slice` takes: read into `window` with the order they are visited in.
  void read_window(const EpochPattern& pattern, const std::vector<int64_t>& chunks, int64_t first,
                   int64_t last, const torch::Tensor& visits, int64_t at, const RankSlice& slice,
                   Window& window);
  void stop();
  // A window's buffer: one handed back, or a new one. Buffers are reused across windows and
  // epochs, so the stream's memory is that of its windows whatever the allocator does.
  torch::Tensor buffer(int64_t examples);
  void recycle(Window window);
  // Makes current_ a window with examples left to take; StorageError past the end of the epoch.
  void advance();

  std::filesystem::path path_;
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

  // File rows read in one call at most this many bytes apart (the scratch a read holds).
  static constexpr int64_t kPieceBytes = int64_t{8} << 20;
  // Windows read ahead at most.
  static constexpr int64_t kMaxDepth = 4;
};

}  // namespace kd
