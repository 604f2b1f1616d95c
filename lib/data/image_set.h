// Images and labels held in memory as they are stored on disk: uint8 pixels, int64 labels.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

namespace kd {

struct ImageSet {
  torch::Tensor images;  ///< uint8 [N, C, H, W]
  torch::Tensor labels;  ///< int64 [N]

  int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
  /// The examples at `index` (int64 [M]), in that order.
  ImageSet select(const torch::Tensor& index) const;
  /// Hash of pixels and labels: identifies the data a model or cache was made from.
  std::string fingerprint() const;
  /// The fingerprint of kdpipe before 0.3 (LegacyHasher), to verify format-1 caches only.
  std::string legacy_fingerprint() const;
};

/// Shape and normalisation of a dataset's images.
/// The most classes kdpipe takes from a dataset or a checkpoint: more is damage, not data.
constexpr int64_t kMaxClasses = 100000;
/// The longest image side kdpipe reads from a file's header (IDX, PNG, JPEG, a checkpoint).
constexpr int64_t kMaxImageSide = 4096;

struct DatasetInfo {
  std::string name;
  int64_t channels = 0;
  int64_t height = 0;
  int64_t width = 0;
  int64_t classes = 0;
  std::vector<float> mean;  ///< per channel, of pixels scaled to [0, 1]
  std::vector<float> std;   ///< per channel
  std::vector<std::string> class_names;
};

/// What a dataset's files hold, before the validation hold-out: the training file, the test set
/// and the class names.
struct DatasetFiles {
  ImageSet train;
  ImageSet test;
  std::vector<std::string> class_names;
};

/// Per-channel mean and standard deviation of uint8 `images` [N, C, H, W] scaled to [0, 1]
/// (the normalisation a dataset without published statistics gets).
std::pair<std::vector<float>, std::vector<float>> channel_statistics(const torch::Tensor& images);

/// A dataset split three ways: `val` is held out from the training file for model selection and
/// temperature scaling; `test` is the dataset's own test set, used only for final figures.
struct Dataset {
  DatasetInfo info;
  ImageSet train;
  ImageSet val;
  ImageSet test;

  /// The split named "train", "val" or "test"; ConfigError otherwise.
  const ImageSet& split(const std::string& name) const;
};

}  // namespace kd
