// The rows of an image array file read past HDF5 and past the page cache (storage/array_stream).
//
// HDF5 here is built thread-safe: every call takes one global lock. And a file read through the
// page cache inside a memory cgroup at its limit makes each page read reclaim another, in the
// reading thread: streaming a 6 GB file through a 2 GB cgroup cost a tenth of the training rate.
// Where the layout allows it (uint8 pixels, unfiltered, stored contiguously or in chunks of whole
// images, every chunk written), rows are read with O_DIRECT from where HDF5 put them.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <vector>

namespace kd {

class DirectRows {
 public:
  /// A reader of `dataset`'s rows of `row_bytes` bytes each, or nothing where its layout (or the
  /// file system, which may refuse O_DIRECT) does not allow reading them directly.
  static std::unique_ptr<DirectRows> open(const std::filesystem::path& path, hid_t dataset,
                                          int64_t row_bytes);
  ~DirectRows();
  DirectRows(const DirectRows&) = delete;
  DirectRows& operator=(const DirectRows&) = delete;

  /// File rows [first, first + count) into `out`; StorageError naming the file when it cannot.
  /// One call at a time (others wait).
  void read(int64_t first, int64_t count, std::uint8_t* out);

 private:
  DirectRows() = default;
  // Bytes [offset, offset + size) of the file into `out`, through the aligned buffer.
  void read_bytes(int64_t offset, int64_t size, std::uint8_t* out);

  std::filesystem::path path_;
  std::mutex mutex_;
  int fd_ = -1;
  int64_t row_bytes_ = 0;
  int64_t chunk_rows_ = 0;          ///< rows a chunk holds (0: stored contiguously)
  std::vector<int64_t> addresses_;  ///< each chunk's file offset (contiguous: the one)
  std::uint8_t* buffer_ = nullptr;  ///< aligned to kAlign, buffer_size_ bytes
  int64_t buffer_size_ = 0;
};

}  // namespace kd
