#include "lib/data/image_set.h"

#include "lib/core/error.h"
#include "lib/core/hash.h"

namespace kd {

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

std::pair<std::vector<float>, std::vector<float>> channel_statistics(const torch::Tensor& images) {
  const int64_t n = images.size(0), c = images.size(1);
  torch::Tensor sum = torch::zeros({c}, torch::kFloat64);
  torch::Tensor squares = torch::zeros({c}, torch::kFloat64);
  // In blocks, so a large dataset is never held as doubles all at once.
  for (int64_t start = 0; start < n; start += 1024) {
    const torch::Tensor x =
        images.slice(0, start, std::min(n, start + 1024)).to(torch::kFloat64).div_(255.0);
    sum += x.sum({0, 2, 3});
    squares += x.square().sum({0, 2, 3});
  }
  const double count = static_cast<double>(n) * images.size(2) * images.size(3);
  const torch::Tensor mean = sum / count;
  const torch::Tensor var = (squares / count - mean.square()).clamp_min(0);
  std::vector<float> m, s;
  for (int64_t k = 0; k < c; ++k) {
    m.push_back(static_cast<float>(mean[k].item<double>()));
    // A constant channel would divide by zero; its inputs are then merely centred.
    const double sd = std::sqrt(var[k].item<double>());
    s.push_back(static_cast<float>(sd > 1e-6 ? sd : 1.0));
  }
  return {m, s};
}

const ImageSet& Dataset::split(const std::string& name) const {
  if (name == "train") return train;
  if (name == "val") return val;
  if (name == "test") return test;
  throw ConfigError("--split: expected train, val or test, got '" + name + "'");
}

}  // namespace kd
