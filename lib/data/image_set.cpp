#include "lib/data/image_set.h"

#include <ATen/Parallel.h>

#include <cmath>
#include <mutex>

#include "lib/core/error.h"
#include "lib/core/hash.h"
#include "lib/data/example_stream.h"

namespace kd {

std::vector<int64_t> InputShape::batch(int64_t b) const {
  if (features.empty()) return {b, channels, height, width};
  std::vector<int64_t> shape{b};
  shape.insert(shape.end(), features.begin(), features.end());
  return shape;
}

std::string InputShape::text() const {
  if (features.empty()) {
    return std::to_string(channels) + "x" + std::to_string(height) + "x" + std::to_string(width);
  }
  std::string out = "[";
  for (std::size_t i = 0; i < features.size(); ++i) {
    out += (i ? ", " : "") + std::to_string(features[i]);
  }
  return out + "]";
}

std::string InputShape::problem() const {
  if (features.empty()) {
    if ((channels != 1 && channels != 3) || height < 1 || height > kMaxImageSide || width < 1 ||
        width > kMaxImageSide)
      return "should be channels (1 or 3), height and width (1 to " +
             std::to_string(kMaxImageSide) + ")";
    return "";
  }
  int64_t values = 1;
  bool fits = features.size() <= 4;
  for (int64_t d : features) {
    fits = fits && d >= 1 && d <= kMaxFeatureValues;
    if (fits) values *= d;
    fits = fits && values <= kMaxFeatureValues;
  }
  if (!fits || channels != 1 || height != 1 || width != values)
    return "should be the shape of one example, 1 to 4 dimensions of at most " +
           std::to_string(kMaxFeatureValues) + " values in all";
  return "";
}

ImageSet ImageSet::select(const torch::Tensor& index) const {
  return {images.index_select(0, index), labels.index_select(0, index)};
}

namespace {

// The shape, pixels and labels of `set` through `h`.
template <typename H>
std::string fingerprint_with(const ImageSet& set, H h) {
  const torch::Tensor px = set.images.contiguous();
  const torch::Tensor lb = set.labels.contiguous();
  for (int64_t d : px.sizes()) h.update_value(d);
  h.update(px.data_ptr(), static_cast<std::size_t>(px.numel()) * px.element_size());
  h.update(lb.data_ptr(), static_cast<std::size_t>(lb.numel()) * lb.element_size());
  return h.hex();
}

}  // namespace

std::string ImageSet::fingerprint() const { return fingerprint_with(*this, Hasher()); }

std::string ImageSet::legacy_fingerprint() const { return fingerprint_with(*this, LegacyHasher()); }

ChannelMoments::ChannelMoments(int64_t channels)
    : counts_(static_cast<std::size_t>(channels) * 256, 0) {}

void ChannelMoments::add(const torch::Tensor& images) {
  TORCH_INTERNAL_ASSERT(images.scalar_type() == torch::kUInt8 && images.dim() == 4 &&
                            images.size(1) * 256 == static_cast<int64_t>(counts_.size()),
                        "uint8 images [N, C, H, W]");
  // A histogram of each channel's bytes, read through the strides (a streamed block is stored
  // [N, H, W, C]): nothing allocated but one histogram per thread, and the moments it gives are
  // exact whatever the blocks.
  const int64_t C = images.size(1), H = images.size(2), W = images.size(3);
  const int64_t sn = images.stride(0), sc = images.stride(1), sh = images.stride(2),
                sw = images.stride(3);
  const uint8_t* base = images.data_ptr<uint8_t>();
  std::mutex merge;
  at::parallel_for(0, images.size(0), 64, [&](int64_t begin, int64_t end) {
    std::vector<int64_t> local(counts_.size(), 0);
    for (int64_t n = begin; n < end; ++n)
      for (int64_t c = 0; c < C; ++c) {
        int64_t* bins = local.data() + c * 256;
        for (int64_t y = 0; y < H; ++y) {
          const uint8_t* p = base + n * sn + c * sc + y * sh;
          for (int64_t x = 0; x < W; ++x) ++bins[p[x * sw]];
        }
      }
    const std::lock_guard<std::mutex> lock(merge);
    for (std::size_t k = 0; k < counts_.size(); ++k) counts_[k] += local[k];
  });
}

std::pair<std::vector<float>, std::vector<float>> ChannelMoments::result() const {
  std::vector<float> m, s;
  for (std::size_t c = 0; c < counts_.size() / 256; ++c) {
    // Sums of the bytes and of their squares, exact in integers; the variance from them as
    // (n·Q - S²) / (255 n)², exact up to its one division.
    __int128 n = 0, sum = 0, squares = 0;
    for (int v = 0; v < 256; ++v) {
      const __int128 k = counts_[c * 256 + static_cast<std::size_t>(v)];
      n += k, sum += k * v, squares += k * v * v;
    }
    const double scale = 255.0 * static_cast<double>(n);
    m.push_back(static_cast<float>(n ? static_cast<double>(sum) / scale : 0.0));
    const double var = n ? static_cast<double>(n * squares - sum * sum) / (scale * scale) : 0.0;
    // A constant channel would divide by zero; its inputs are then merely centred.
    const double sd = std::sqrt(var);
    s.push_back(static_cast<float>(sd > 1e-6 ? sd : 1.0));
  }
  return {m, s};
}

std::pair<std::vector<float>, std::vector<float>> channel_statistics(const torch::Tensor& images) {
  ChannelMoments moments(images.size(1));
  moments.add(images);
  return moments.result();
}

std::pair<std::vector<float>, std::vector<float>> feature_statistics(const torch::Tensor& inputs) {
  const int64_t n = inputs.size(0);
  const torch::Tensor flat = inputs.reshape({n, -1});
  torch::Tensor sum = torch::zeros({flat.size(1)}, torch::kFloat64);
  torch::Tensor squares = torch::zeros({flat.size(1)}, torch::kFloat64);
  for (int64_t start = 0; start < n; start += 4096) {
    const torch::Tensor x = flat.slice(0, start, std::min(n, start + 4096)).to(torch::kFloat64);
    sum += x.sum(0);
    squares += x.square().sum(0);
  }
  const torch::Tensor mean = sum / static_cast<double>(n);
  const torch::Tensor sd = (squares / static_cast<double>(n) - mean.square()).clamp_min(0).sqrt();
  const torch::Tensor safe = torch::where(sd > 1e-6, sd, torch::ones_like(sd));
  const torch::Tensor m = mean.to(torch::kFloat32).contiguous();
  const torch::Tensor s = safe.to(torch::kFloat32).contiguous();
  return {std::vector<float>(m.data_ptr<float>(), m.data_ptr<float>() + m.numel()),
          std::vector<float>(s.data_ptr<float>(), s.data_ptr<float>() + s.numel())};
}

int64_t Dataset::train_size() const { return stream ? stream->size() : train.size(); }

std::string Dataset::train_fingerprint() const {
  return stream ? stream_fingerprint : train.fingerprint();
}

const ImageSet& Dataset::split(const std::string& name) const {
  check<ConfigError>(name != "train" || !stream,
                     "the training split is read from its file as it trains, not held in memory");
  if (name == "train") return train;
  if (name == "val") return val;
  if (name == "test") return test;
  throw ConfigError("--split: expected train, val or test, got '" + name + "'");
}

}  // namespace kd
