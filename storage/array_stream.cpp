#include "storage/array_stream.h"

#include <algorithm>
#include <cstring>
#include <numeric>

#include "lib/core/error.h"
#include "storage/array_stream_impl.h"

namespace kd {

namespace fs = std::filesystem;

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

std::shared_ptr<ExampleStream> ArrayStream::subset(const torch::Tensor& rows_in,
                                                   int64_t memory) {
  const torch::Tensor rows = rows_in.to(torch::kInt64).contiguous();
  std::vector<int64_t> file_rows;
  for (int64_t i = 0; i < rows.numel(); ++i) {
    const int64_t r = rows.data_ptr<int64_t>()[i];
    check<ConfigError>(r >= 0 && r < size(), "row ", r, " of ", name_, " in ", path_.string(),
                       " is out of range [0, ", size(), ")");
    file_rows.push_back(rows_[static_cast<std::size_t>(r)]);
  }
  return std::make_shared<ArrayStream>(path_, split_, std::move(file_rows),
                                       memory < 0 ? memory_ : memory, stamp_, direct_);
}

std::shared_ptr<ExampleStream> open_array_stream(const fs::path& path, const std::string& split,
                                                 std::vector<int64_t> rows, int64_t memory) {
  return std::make_shared<ArrayStream>(path, split, std::move(rows), memory);
}

}  // namespace kd
