#include "lib/data/image_set.h"

#include "lib/core/error.h"
#include "lib/core/hash.h"

namespace kd {

ImageSet ImageSet::select(const torch::Tensor& index) const {
  return {images.index_select(0, index), labels.index_select(0, index)};
}

std::string ImageSet::fingerprint() const {
  const torch::Tensor px = images.contiguous();
  const torch::Tensor lb = labels.contiguous();
  Hasher h;
  for (int64_t d : px.sizes()) h.update_value(d);
  h.update(px.data_ptr(), static_cast<std::size_t>(px.numel()) * px.element_size());
  h.update(lb.data_ptr(), static_cast<std::size_t>(lb.numel()) * lb.element_size());
  return h.hex();
}

const ImageSet& Dataset::split(const std::string& name) const {
  if (name == "train") return train;
  if (name == "val") return val;
  if (name == "test") return test;
  throw ConfigError("--split: expected train, val or test, got '" + name + "'");
}

}  // namespace kd
