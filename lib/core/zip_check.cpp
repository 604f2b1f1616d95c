#include "lib/core/zip_check.h"

#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <vector>

#include "lib/core/error.h"

namespace kd {

namespace fs = std::filesystem;

namespace {

constexpr uint32_t kEndRecord = 0x06054b50;
constexpr uint32_t kCentralEntry = 0x02014b50;
constexpr uint32_t kLocalEntry = 0x04034b50;
constexpr uint32_t kZip64Size = 0xffffffff;

// The archive in memory, read little-endian at checked offsets.
class Bytes {
 public:
  explicit Bytes(std::vector<unsigned char> data) : data_(std::move(data)) {}
  std::size_t size() const { return data_.size(); }
  bool has(std::size_t at, std::size_t n) const { return at <= size() && n <= size() - at; }
  uint32_t u16(std::size_t at) const { return data_[at] | (uint32_t{data_[at + 1]} << 8); }
  uint32_t u32(std::size_t at) const { return u16(at) | (u16(at + 2) << 16); }
  const unsigned char* at(std::size_t at) const { return data_.data() + at; }

 private:
  std::vector<unsigned char> data_;
};

// Returns "" when whole, else what is wrong.
std::string zip_problem(const Bytes& zip) {
  // The end record: its 22 bytes plus a comment of up to 64 KiB, searched from the end.
  if (zip.size() < 22) return "too short for a ZIP archive";
  std::size_t end = zip.size() - 22;
  const std::size_t lowest = zip.size() > 22 + 0xffff ? zip.size() - 22 - 0xffff : 0;
  while (zip.u32(end) != kEndRecord) {
    if (end == lowest) return "no ZIP end record (truncated?)";
    --end;
  }
  const uint32_t entries = zip.u16(end + 10);
  std::size_t central = zip.u32(end + 16);
  for (uint32_t i = 0; i < entries; ++i) {
    if (!zip.has(central, 46) || zip.u32(central) != kCentralEntry) {
      return "central directory entry " + std::to_string(i) + " is damaged";
    }
    const uint32_t method = zip.u16(central + 10);
    const uint32_t crc = zip.u32(central + 16);
    const uint32_t packed = zip.u32(central + 20);
    const uint32_t size = zip.u32(central + 24);
    const std::size_t name_len = zip.u16(central + 28);
    const std::size_t skip = name_len + zip.u16(central + 30) + zip.u16(central + 32);
    const std::size_t local = zip.u32(central + 42);
    if (!zip.has(central + 46, skip)) return "central directory entry " + std::to_string(i) + " is cut";
    const std::string name(reinterpret_cast<const char*>(zip.at(central + 46)), name_len);
    central += 46 + skip;
    if (packed == kZip64Size || size == kZip64Size || local == kZip64Size) continue;
    if (!zip.has(local, 30) || zip.u32(local) != kLocalEntry) return "entry '" + name + "' is missing";
    const std::size_t data = local + 30 + zip.u16(local + 26) + zip.u16(local + 28);
    if (!zip.has(data, packed)) return "entry '" + name + "' is cut";
    if (method != 0) continue;  // LibTorch stores entries uncompressed; others are checked by zlib
    if (packed != size) return "entry '" + name + "' has two sizes";
    uLong sum = crc32(0L, Z_NULL, 0);
    for (std::size_t done = 0; done < size;) {  // zlib takes 32-bit lengths
      const auto n = static_cast<uInt>(std::min<std::size_t>(size - done, 1u << 30));
      sum = crc32(sum, zip.at(data + done), n);
      done += n;
    }
    if (sum != crc) return "entry '" + name + "' fails its CRC-32 check (damaged)";
  }
  return "";
}

}  // namespace

template <typename E>
void check_zip_archive(const fs::path& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  check<E>(static_cast<bool>(in), what, " ", path.string(), ": cannot read");
  std::vector<unsigned char> data((std::istreambuf_iterator<char>(in)), {});
  const std::string problem = zip_problem(Bytes(std::move(data)));
  check<E>(problem.empty(), what, " ", path.string(), ": ", problem);
}

template void check_zip_archive<DataError>(const fs::path&, const std::string&);
template void check_zip_archive<StorageError>(const fs::path&, const std::string&);

}  // namespace kd
