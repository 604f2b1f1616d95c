// Images and labels held in memory as they are stored on disk: uint8 pixels, int64 labels.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "lib/data/epoch_pattern.h"

namespace kd {

class ExampleStream;

struct ImageSet {
  torch::Tensor images;  ///< uint8 [N, C, H, W]; or, from a feature array, float32 [N, ...]
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

/// What a model takes: images [B, C, H, W], or a feature array's examples [B, ...features]
/// (then C = H = 1 and W is the number of values in an example, so that code that flattens an
/// input, an MLP or a FLOP count, needs no case of its own).
struct InputShape {
  int64_t channels = 1;
  int64_t height = 28;
  int64_t width = 28;
  std::vector<int64_t> features{};  ///< the shape of one example of a feature array; empty: images

  /// [b, C, H, W], or [b, ...features].
  std::vector<int64_t> batch(int64_t b) const;
  /// "CxHxW", or the feature shape as "[F]" / "[A, B]".
  std::string text() const;
  /// What makes the shape impossible (images: 1 or 3 channels, sides 1 to kMaxImageSide; feature
  /// arrays: 1 to 4 dimensions of at most kMaxFeatureValues values in all, C = H = 1, W their
  /// count), or "".
  std::string problem() const;
};

/// The most values in one example of a feature array.
constexpr int64_t kMaxFeatureValues = int64_t{1} << 24;

struct DatasetInfo {
  std::string name;
  int64_t channels = 0;
  int64_t height = 0;
  int64_t width = 0;
  /// A feature array's example shape (float inputs, no pixels: see lib/data/array_file.h); empty
  /// for images. Then channels = height = 1 and width is the number of values.
  std::vector<int64_t> features;
  int64_t classes = 0;
  /// Examples in the training file, before the validation hold-out, where known without reading
  /// the pixels (array files; 0 otherwise).
  int64_t train_examples = 0;
  /// Images: per channel, of pixels scaled to [0, 1]. Feature arrays: per value of an example,
  /// measured over the training file.
  std::vector<float> mean;
  std::vector<float> std;  ///< per channel, or per value
  /// Feature arrays: whether inputs are standardised, (x - mean) / std (otherwise taken as they
  /// are); and the standard deviation of the Gaussian noise that is their augmentation, in units
  /// of each value's std.
  bool standardize = false;
  double noise = 0.1;
  std::vector<std::string> class_names;

  bool is_features() const { return !features.empty(); }
  InputShape input() const { return {channels, height, width, features}; }
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

/// channel_statistics a block at a time: given the images in blocks of any size, in any order,
/// its result is channel_statistics's, bit for bit (the moments are counted exactly).
class ChannelMoments {
 public:
  explicit ChannelMoments(int64_t channels);
  /// uint8 [N, C, H, W], any strides.
  void add(const torch::Tensor& images);
  std::pair<std::vector<float>, std::vector<float>> result() const;

 private:
  std::vector<int64_t> counts_;  // [C][256]: how many of each channel's values are each byte
};

/// Mean and standard deviation of each value of a feature array's examples, float [N, ...], over
/// the N examples (a constant value gets std 1).
std::pair<std::vector<float>, std::vector<float>> feature_statistics(const torch::Tensor& inputs);

/// A dataset split three ways: `val` is held out from the training file for model selection and
/// temperature scaling; `test` is the dataset's own test set, used only for final figures.
struct Dataset {
  DatasetInfo info;
  ImageSet train;
  ImageSet val;
  ImageSet test;

  /// The training split when it is read from its file as a model trains (then `train` holds no
  /// examples): load_dataset with DataOptions::stream, for a split in the chunked order.
  std::shared_ptr<ExampleStream> stream;
  /// The streamed split's fingerprint, measured as it was first read.
  std::string stream_fingerprint;
  /// The order the training split's epochs visit it in.
  EpochPattern order;

  /// The split named "train", "val" or "test"; ConfigError otherwise (and for a streamed "train").
  const ImageSet& split(const std::string& name) const;
  /// Examples in the training split, streamed or not.
  int64_t train_size() const;
  /// ImageSet::fingerprint() of the training split, streamed or not.
  std::string train_fingerprint() const;
};

}  // namespace kd
