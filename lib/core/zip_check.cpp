#include "lib/core/zip_check.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "lib/core/error.h"
#include "lib/core/files.h"

namespace kd {

namespace fs = std::filesystem;

namespace {

constexpr uint32_t kEndRecord = 0x06054b50;
constexpr uint32_t kCentralEntry = 0x02014b50;
constexpr uint32_t kLocalEntry = 0x04034b50;
constexpr uint32_t kZip64Size = 0xffffffff;
constexpr uint32_t kZip64End = 0x06064b50;
constexpr uint32_t kZip64Locator = 0x07064b50;

// The archive on disk, read little-endian at checked offsets with pread: only what is looked at
// is read, so a large file that is no archive (a gigabyte of zeros) costs its last 64 KiB.
class Bytes {
 public:
  explicit Bytes(const fs::path& path)
      : fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK)) {  // a FIFO must not block
    struct stat st {};
    regular_ = fd_ >= 0 && ::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode);
    if (regular_) size_ = static_cast<std::size_t>(st.st_size);
  }
  ~Bytes() {
    if (fd_ >= 0) ::close(fd_);
  }
  Bytes(const Bytes&) = delete;
  Bytes& operator=(const Bytes&) = delete;
  bool opened() const { return fd_ >= 0; }
  bool regular() const { return regular_; }
  std::size_t size() const { return size_; }
  bool has(std::size_t at, std::size_t n) const { return at <= size() && n <= size() - at; }
  uint32_t u16(std::size_t at) const {
    unsigned char b[2];
    read(at, b, 2);
    return b[0] | (uint32_t{b[1]} << 8);
  }
  uint32_t u32(std::size_t at) const { return u16(at) | (u16(at + 2) << 16); }
  uint64_t u64(std::size_t at) const { return u32(at) | (uint64_t{u32(at + 4)} << 32); }
  std::string text(std::size_t at, std::size_t n) const {
    std::string out(n, '\0');
    read(at, out.data(), n);
    return out;
  }
  /// Bytes [at, at + n), which has() checked; a read that fails (a file cut meanwhile) reads 0s.
  void read(std::size_t at, void* into, std::size_t n) const {
    auto* p = static_cast<unsigned char*>(into);
    std::size_t done = 0;
    while (done < n) {
      const ssize_t got = ::pread(fd_, p + done, n - done, static_cast<off_t>(at + done));
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) break;
      done += static_cast<std::size_t>(got);
    }
    std::fill(p + done, p + n, 0);
  }
  /// Calls f(block, length) over bytes [at, at + n) in blocks of 1 MiB.
  template <typename F>
  void blocks(std::size_t at, std::size_t n, F&& f) const {
    std::vector<unsigned char> block(std::min<std::size_t>(n, 1 << 20));
    for (std::size_t done = 0; done < n;) {
      const std::size_t len = std::min(block.size(), n - done);
      read(at + done, block.data(), len);
      if (!f(block.data(), len)) return;
      done += len;
    }
  }

 private:
  int fd_;
  bool regular_ = false;
  std::size_t size_ = 0;
};

// CRC-32 and length of what a raw deflate stream of `packed` bytes at `at` inflates to; false
// when it is not one. Reads and inflates in blocks: memory stays constant whatever it declares.
bool inflated_crc(const Bytes& zip, std::size_t at, std::size_t packed, std::size_t expected,
                  uLong* crc, std::size_t* size) {
  z_stream z{};
  if (inflateInit2(&z, -MAX_WBITS) != Z_OK) return false;
  std::vector<unsigned char> out(1 << 16);
  *crc = crc32(0L, Z_NULL, 0);
  *size = 0;
  int status = Z_OK;
  zip.blocks(at, packed, [&](const unsigned char* data, std::size_t len) {
    z.next_in = const_cast<unsigned char*>(data);
    z.avail_in = static_cast<uInt>(len);
    while (status == Z_OK && z.avail_in > 0) {
      z.next_out = out.data();
      z.avail_out = static_cast<uInt>(out.size());
      status = inflate(&z, Z_NO_FLUSH);
      if (status == Z_BUF_ERROR) status = Z_OK;  // no progress possible: wants more input
      const std::size_t got = out.size() - z.avail_out;
      *crc = crc32(*crc, out.data(), static_cast<uInt>(got));
      *size += got;
      if (*size > expected) status = Z_DATA_ERROR;                              // longer than said
      if (got == 0 && z.avail_in > 0 && status == Z_OK) status = Z_DATA_ERROR;  // stuck
    }
    return status == Z_OK;
  });
  // The input ended: flush what inflate still holds.
  while (status == Z_OK) {
    z.next_out = out.data();
    z.avail_out = static_cast<uInt>(out.size());
    z.avail_in = 0;
    status = inflate(&z, Z_NO_FLUSH);
    const std::size_t got = out.size() - z.avail_out;
    *crc = crc32(*crc, out.data(), static_cast<uInt>(got));
    *size += got;
    if (*size > expected) status = Z_DATA_ERROR;
    if (status == Z_OK && got == 0) status = Z_DATA_ERROR;  // cut short
    if (status == Z_BUF_ERROR) status = Z_DATA_ERROR;
  }
  inflateEnd(&z);
  return status == Z_STREAM_END;
}

// An entry's sizes and offset past 4 GiB, from its ZIP64 extra field (id 1): each value that
// overflowed, 8 bytes each, in this order.
bool zip64_values(const Bytes& zip, std::size_t extra, std::size_t extra_len, uint64_t* size,
                  uint64_t* packed, uint64_t* local) {
  for (std::size_t at = extra; at + 4 <= extra + extra_len;) {
    const std::size_t len = zip.u16(at + 2);
    if (zip.u16(at) == 1) {
      std::size_t p = at + 4;
      for (uint64_t* v : {size, packed, local}) {
        if (*v != kZip64Size) continue;
        if (p + 8 > at + 4 + len || !zip.has(p, 8)) return false;
        *v = zip.u64(p);
        p += 8;
      }
      return true;
    }
    at += 4 + len;
  }
  return false;
}

// Returns "" when whole, else what is wrong.
std::string zip_problem(const Bytes& zip) {
  // The end record: its 22 bytes plus a comment of up to 64 KiB, searched from the end.
  if (zip.size() < 22) return "too short for a ZIP archive";
  const std::size_t lowest = zip.size() > 22 + 0xffff ? zip.size() - 22 - 0xffff : 0;
  const std::string tail = zip.text(lowest, zip.size() - lowest);
  std::size_t end = zip.size() - 22;
  const auto u32_of_tail = [&](std::size_t at) {
    const auto* b = reinterpret_cast<const unsigned char*>(tail.data()) + (at - lowest);
    return b[0] | (uint32_t{b[1]} << 8) | (uint32_t{b[2]} << 16) | (uint32_t{b[3]} << 24);
  };
  while (u32_of_tail(end) != kEndRecord) {
    if (end == lowest) return "no ZIP end record (truncated?)";
    --end;
  }
  uint64_t entries = zip.u16(end + 10);
  uint64_t central = zip.u32(end + 16);
  if (entries == 0xffff || central == kZip64Size) {  // ZIP64: the real counts are in its end record
    if (end < 20 || zip.u32(end - 20) != kZip64Locator) return "damaged ZIP64 end record";
    const uint64_t record = zip.u64(end - 12);
    if (!zip.has(record, 56) || zip.u32(record) != kZip64End) return "damaged ZIP64 end record";
    entries = zip.u64(record + 32);
    central = zip.u64(record + 48);
  }
  std::vector<std::string> names;
  for (uint64_t i = 0; i < entries; ++i) {
    if (!zip.has(central, 46) || zip.u32(central) != kCentralEntry) {
      return "central directory entry " + std::to_string(i) + " is damaged";
    }
    const uint32_t method = zip.u16(central + 10);
    const uint32_t crc = zip.u32(central + 16);
    uint64_t packed = zip.u32(central + 20);
    uint64_t size = zip.u32(central + 24);
    uint64_t local = zip.u32(central + 42);
    const std::size_t name_len = zip.u16(central + 28);
    const std::size_t extra_len = zip.u16(central + 30);
    const std::size_t skip = name_len + extra_len + zip.u16(central + 32);
    if (!zip.has(central + 46, skip)) {
      return "central directory entry " + std::to_string(i) + " is cut";
    }
    const std::string name = zip.text(central + 46, name_len);
    names.push_back(name);
    if ((packed == kZip64Size || size == kZip64Size || local == kZip64Size) &&
        !zip64_values(zip, central + 46 + name_len, extra_len, &size, &packed, &local)) {
      return "entry '" + name + "' has a damaged ZIP64 field";
    }
    central += 46 + skip;
    if (!zip.has(local, 30) || zip.u32(local) != kLocalEntry) {
      return "entry '" + name + "' is missing";
    }
    const std::size_t data = local + 30 + zip.u16(local + 26) + zip.u16(local + 28);
    if (!zip.has(data, packed)) return "entry '" + name + "' is cut";
    uLong sum = crc32(0L, Z_NULL, 0);
    std::size_t unpacked = packed;
    if (method == 8) {  // LibTorch's writer deflates its code files, and stores tensors as they are
      if (!inflated_crc(zip, data, packed, size, &sum, &unpacked)) {
        return "entry '" + name + "' is not a whole deflate stream (damaged)";
      }
    } else if (method == 0) {
      zip.blocks(data, packed, [&](const unsigned char* block, std::size_t len) {
        sum = crc32(sum, block, static_cast<uInt>(len));
        return true;
      });
    } else {
      return "entry '" + name + "' uses compression method " + std::to_string(method) +
             ", which LibTorch does not read";
    }
    if (unpacked != size) return "entry '" + name + "' has the wrong size (damaged)";
    if (sum != crc) return "entry '" + name + "' fails its CRC-32 check (damaged)";
  }
  // What LibTorch opens first: <folder>/data.pkl and <folder>/version, one folder for all entries.
  if (names.empty()) return "an empty ZIP archive";
  const std::string folder = names.front().substr(0, names.front().find('/') + 1);
  for (const char* needed : {"data.pkl", "version"}) {
    if (folder.empty() || std::find(names.begin(), names.end(), folder + needed) == names.end()) {
      return std::string("no entry ") + (folder.empty() ? "FOLDER/" : folder) + needed +
             " (not a LibTorch archive)";
    }
  }
  return "";
}

}  // namespace

template <typename E>
void check_zip_archive(const fs::path& path, const std::string& what) {
  const Bytes zip(path);
  check<E>(zip.opened(), what, " ", path.string(), ": cannot read (", std::strerror(errno), ")");
  check<E>(zip.regular(), what, " ", path.string(), ": ", file_kind(path), ", not a regular file");
  const std::string problem = zip_problem(zip);
  check<E>(problem.empty(), what, " ", path.string(), ": ", problem);
}

template void check_zip_archive<DataError>(const fs::path&, const std::string&);
template void check_zip_archive<StorageError>(const fs::path&, const std::string&);

}  // namespace kd
