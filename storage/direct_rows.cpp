#include "storage/direct_rows.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "lib/core/error.h"
#include "storage/h5.h"

namespace kd {

namespace {

// O_DIRECT wants offsets, sizes and memory aligned to the device's block; 4 KiB covers them.
constexpr int64_t kAlign = 4096;
// Bytes read in one call at most (the aligned buffer's size).
constexpr int64_t kPiece = int64_t{4} << 20;

// Each chunk's file offset by its first row, or nothing when a chunk is not written (HDF5 would
// give its fill value) or not whole images of `row_bytes`. (Looked up by coordinates: walking
// the chunks by index restarts from the first at every call.)
std::vector<int64_t> chunk_addresses(hid_t dataset, int64_t chunk_rows, int64_t rows,
                                     int64_t row_bytes) {
  const int64_t chunks = (rows + chunk_rows - 1) / chunk_rows;
  std::vector<int64_t> at(static_cast<std::size_t>(chunks), -1);
  for (int64_t k = 0; k < chunks; ++k) {
    hsize_t offset[H5S_MAX_RANK] = {};
    offset[0] = static_cast<hsize_t>(k * chunk_rows);
    unsigned mask = 0;
    haddr_t address = HADDR_UNDEF;
    hsize_t size = 0;
    if (H5Dget_chunk_info_by_coord(dataset, offset, &mask, &address, &size) < 0 ||
        address == HADDR_UNDEF || mask != 0 || static_cast<int64_t>(size) != chunk_rows * row_bytes)
      return {};
    at[static_cast<std::size_t>(k)] = static_cast<int64_t>(address);
  }
  return at;
}

}  // namespace

std::unique_ptr<DirectRows> DirectRows::open(const std::filesystem::path& path, hid_t dataset,
                                             int64_t row_bytes) {
  const h5::Handle type(H5Dget_type(dataset), H5Tclose);
  const h5::Handle props(H5Dget_create_plist(dataset), H5Pclose);
  // uint8 only: HDF5 would clamp another type's values on reading them as uint8.
  if (type.get() < 0 || props.get() < 0 || H5Tget_class(type.get()) != H5T_INTEGER ||
      H5Tget_size(type.get()) != 1 || H5Tget_sign(type.get()) != H5T_SGN_NONE ||
      H5Pget_nfilters(props.get()) != 0)
    return nullptr;
  hsize_t shape[H5S_MAX_RANK] = {};
  const hid_t space = H5Dget_space(dataset);
  const int rank = space < 0 ? -1 : H5Sget_simple_extent_dims(space, shape, nullptr);
  if (space >= 0) H5Sclose(space);
  if (rank < 1) return nullptr;
  std::unique_ptr<DirectRows> r(new DirectRows);
  r->path_ = path;
  r->row_bytes_ = row_bytes;
  const H5D_layout_t layout = H5Pget_layout(props.get());
  if (layout == H5D_CONTIGUOUS) {
    const haddr_t address = H5Dget_offset(dataset);
    if (address == HADDR_UNDEF) return nullptr;
    r->addresses_ = {static_cast<int64_t>(address)};
  } else if (layout == H5D_CHUNKED) {
    hsize_t chunk[H5S_MAX_RANK] = {};
    if (H5Pget_chunk(props.get(), rank, chunk) != rank) return nullptr;
    for (int d = 1; d < rank; ++d)
      if (chunk[d] != shape[d]) return nullptr;  // chunks of parts of images
    r->chunk_rows_ = static_cast<int64_t>(chunk[0]);
    r->addresses_ =
        chunk_addresses(dataset, r->chunk_rows_, static_cast<int64_t>(shape[0]), row_bytes);
    if (r->addresses_.empty()) return nullptr;
  } else {
    return nullptr;
  }
  r->fd_ = ::open(path.c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC);
  if (r->fd_ < 0) return nullptr;
  r->buffer_ = static_cast<std::uint8_t*>(std::aligned_alloc(kAlign, kPiece + 2 * kAlign));
  if (!r->buffer_) return nullptr;
  r->buffer_size_ = kPiece + 2 * kAlign;
  // Some file systems open with O_DIRECT and refuse the reads.
  if (::pread(r->fd_, r->buffer_, kAlign, 0) < 0) return nullptr;
  return r;
}

DirectRows::~DirectRows() {
  if (fd_ >= 0) ::close(fd_);
  std::free(buffer_);
}

void DirectRows::read(int64_t first, int64_t count, std::uint8_t* out) {
  const std::lock_guard<std::mutex> lock(mutex_);
  if (chunk_rows_ == 0) {
    read_bytes(addresses_[0] + first * row_bytes_, count * row_bytes_, out);
    return;
  }
  for (int64_t r = first; r < first + count;) {
    const int64_t k = r / chunk_rows_;
    const int64_t end = std::min(first + count, (k + 1) * chunk_rows_);
    read_bytes(addresses_[static_cast<std::size_t>(k)] + (r - k * chunk_rows_) * row_bytes_,
               (end - r) * row_bytes_, out + (r - first) * row_bytes_);
    r = end;
  }
}

void DirectRows::read_bytes(int64_t offset, int64_t size, std::uint8_t* out) {
  while (size > 0) {
    const int64_t piece = std::min(size, kPiece);
    const int64_t begin = offset & ~(kAlign - 1);
    const int64_t need = offset + piece - begin;
    const int64_t span = (need + kAlign - 1) & ~(kAlign - 1);
    int64_t got = 0;
    while (got < need) {
      const ssize_t n = ::pread(fd_, buffer_ + got, static_cast<std::size_t>(span - got),
                                static_cast<off_t>(begin + got));
      if (n < 0 && errno == EINTR) continue;
      check<StorageError>(n >= 0, path_.string(), ": reading bytes ", offset, " to ",
                          offset + piece, ": ", std::strerror(errno));
      check<StorageError>(n > 0, path_.string(), ": the file ends before byte ", offset + piece,
                          " (truncated while it was read?)");
      got += n;
    }
    std::memcpy(out, buffer_ + (offset - begin), static_cast<std::size_t>(piece));
    offset += piece, size -= piece, out += piece;
  }
}

}  // namespace kd
