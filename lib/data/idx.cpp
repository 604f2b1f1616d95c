#include "lib/data/idx.h"

#include <zlib.h>

#include <array>
#include <memory>
#include <vector>

#include "lib/core/error.h"
#include "lib/data/image_set.h"

namespace kd {

namespace fs = std::filesystem;

namespace {

// gzread also reads uncompressed files unchanged, so one reader serves both layouts.
class GzFile {
 public:
  explicit GzFile(const fs::path& path) : path_(path) {
    check<DataError>(fs::is_regular_file(path), "opening ", path.string(), ": no such file");
    file_ = gzopen(path.c_str(), "rb");
    check<DataError>(file_ != nullptr, "opening ", path.string(), ": cannot read");
  }
  ~GzFile() {
    if (file_) gzclose(file_);
  }
  GzFile(const GzFile&) = delete;
  GzFile& operator=(const GzFile&) = delete;

  /// Reads up to `bytes` bytes; returns how many were read.
  std::size_t read(void* into, std::size_t bytes, const char* what) {
    std::size_t done = 0;
    auto* out = static_cast<unsigned char*>(into);
    while (done < bytes) {
      const unsigned chunk = static_cast<unsigned>(std::min<std::size_t>(bytes - done, 1u << 30));
      const int got = gzread(file_, out + done, chunk);
      if (got < 0) {
        int code = 0;
        const char* msg = gzerror(file_, &code);
        throw DataError("reading " + std::string(what) + " from " + path_.string() +
                        ": corrupt file (" + (msg ? msg : "zlib error") + ")");
      }
      if (got == 0) break;
      done += static_cast<std::size_t>(got);
    }
    return done;
  }

  /// Reads `bytes` bytes into a tensor of `shape`, growing the buffer only as data arrives: a
  /// header that declares more than the file holds is "truncated", not a huge allocation.
  torch::Tensor read_tensor(int64_t bytes, torch::IntArrayRef shape, const char* what) {
    constexpr int64_t kPiece = int64_t{64} << 20;
    if (bytes == 0) return torch::empty(shape, torch::kUInt8);
    auto data = std::make_unique<std::vector<uint8_t>>();
    while (static_cast<int64_t>(data->size()) < bytes) {
      const std::size_t at = data->size();
      const auto want =
          static_cast<std::size_t>(std::min(kPiece, bytes - static_cast<int64_t>(at)));
      data->resize(at + want);
      const std::size_t got = read(data->data() + at, want, what);
      data->resize(at + got);
      check<DataError>(got == want, "reading ", what, " from ", path_.string(),
                       ": truncated, expected ", bytes, " bytes, got ", data->size());
    }
    std::vector<uint8_t>* owned = data.release();
    return torch::from_blob(
        owned->data(), shape, [owned](void*) { delete owned; }, torch::kUInt8);
  }

  void read_exactly(void* into, std::size_t bytes, const char* what) {
    const std::size_t got = read(into, bytes, what);
    check<DataError>(got == bytes, "reading ", what, " from ", path_.string(),
                     ": truncated, expected ", bytes, " bytes, got ", got);
  }

  uint32_t read_u32(const char* what) {
    std::array<unsigned char, 4> b{};
    read_exactly(b.data(), 4, what);
    return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
  }

 private:
  fs::path path_;
  gzFile file_ = nullptr;
};

constexpr uint32_t kImageMagic = 0x00000803;
constexpr uint32_t kLabelMagic = 0x00000801;

fs::path find_file(const fs::path& dir, const std::string& name) {
  for (const fs::path& candidate : {dir / (name + ".gz"), dir / name}) {
    if (fs::is_regular_file(candidate)) return candidate;
  }
  throw DataError("opening " + (dir / (name + ".gz")).string() + ": no such file (nor " +
                  (dir / name).string() + ")");
}

}  // namespace

torch::Tensor read_idx_images(const fs::path& path) {
  GzFile in(path);
  const uint32_t magic = in.read_u32("the magic number");
  check<DataError>(magic == kImageMagic, "reading ", path.string(),
                   ": not an IDX image file, expected magic 0x00000803, got 0x", std::hex, magic);
  const int64_t n = in.read_u32("the image count");
  const int64_t h = in.read_u32("the row count");
  const int64_t w = in.read_u32("the column count");
  check<DataError>(h > 0 && w > 0 && h <= kMaxImageSide && w <= kMaxImageSide, "reading ",
                   path.string(), ": implausible image size ", h, "x", w);
  return in.read_tensor(n * h * w, {n, 1, h, w}, "pixels");
}

torch::Tensor read_idx_labels(const fs::path& path) {
  GzFile in(path);
  const uint32_t magic = in.read_u32("the magic number");
  check<DataError>(magic == kLabelMagic, "reading ", path.string(),
                   ": not an IDX label file, expected magic 0x00000801, got 0x", std::hex, magic);
  const int64_t n = in.read_u32("the label count");
  return in.read_tensor(n, {n}, "labels").to(torch::kInt64);
}

ImageSet read_idx_split(const fs::path& dir, const std::string& prefix, int64_t classes) {
  const fs::path image_path = find_file(dir, prefix + "-images-idx3-ubyte");
  const fs::path label_path = find_file(dir, prefix + "-labels-idx1-ubyte");
  ImageSet set{read_idx_images(image_path), read_idx_labels(label_path)};
  check<DataError>(set.images.size(0) == set.labels.size(0), "reading ", label_path.string(), ": ",
                   set.labels.size(0), " labels for ", set.images.size(0), " images in ",
                   image_path.string(), ", expected equal counts");
  if (set.size() > 0) {
    const int64_t top = set.labels.max().item<int64_t>();
    check<DataError>(top < classes, "reading ", label_path.string(), ": label ", top,
                     " out of range, expected labels in [0, ", classes, ")");
  }
  return set;
}

}  // namespace kd
