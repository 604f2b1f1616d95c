// The datasets kdpipe knows by name, and how to load one with its validation split.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <vector>

#include "lib/data/image_codec.h"
#include "lib/data/image_set.h"

namespace kd {

struct DataOptions {
  explicit DataOptions(std::string name = "fashion-mnist") : name_(std::move(name)) {}
  /// fashion-mnist, mnist, cifar10 or cifar100; or the path of the user's own data: an image
  /// folder (ROOT/train/<class>/*.png, ROOT/test/<class>/...) or an h5 array file.
  TORCH_ARG(std::string, name);
  /// Directory holding a built-in dataset's files; empty means its default location.
  TORCH_ARG(std::filesystem::path, data_dir);
  /// Examples held out from the training file as the validation split.
  TORCH_ARG(int64_t, val_size) = 5000;
  /// Channel count and size every image is converted to (0: as stored).
  TORCH_ARG(ImageFormat, format);
  /// Feature arrays: standardise every value of an example, (x - mean) / std over the training
  /// file (otherwise models take the values as they are).
  TORCH_ARG(bool, standardize) = false;
  /// Feature arrays: the standard deviation of the Gaussian noise added as augmentation (any
  /// --augment but none, the cache's views, the MI probe's views), in units of each value's
  /// standard deviation over the training file.
  TORCH_ARG(double, feature_noise) = 0.1;
  /// Lets load_dataset leave a training split of the chunked order (lib/data/epoch_pattern.h) in
  /// its image array file and read it as a model trains (Dataset::stream), when the file's images
  /// are taken as stored; the caller trains through it. Otherwise every split is held.
  TORCH_ARG(bool, stream) = false;
  /// Megabytes a streamed split's read-ahead, the validation and the test split may hold
  /// (0: memory_limit(), lib/core/memory_limit.h). Never changes a result.
  TORCH_ARG(int64_t, memory_mb) = 0;
};

enum class DatasetKind { builtin, image_folder, array_file };

/// Which kind of dataset `options` names: a built-in name, a directory (an image folder) or a
/// file (an h5 array file). ConfigError when it is none of them.
DatasetKind dataset_kind(const DataOptions& options);

/// Parses --image-size: "HxW", or "S" for S x S; "" is 0x0 (as stored). ConfigError otherwise.
ImageFormat parse_image_size(const std::string& text);
/// "HxW", or "" for 0x0.
std::string image_size_text(const ImageFormat& format);

/// Names accepted by DataOptions::name.
std::vector<std::string> dataset_names();

/// Shape, classes and normalisation of a built-in dataset; ConfigError for an unknown name.
DatasetInfo dataset_info(const std::string& name);

/// Name, shape and classes of the dataset `options` describe, without reading its pixels. The
/// normalisation of the user's own data (or of converted images) is measured by load_dataset, so
/// `mean` and `std` are empty here for them.
DatasetInfo describe_dataset(const DataOptions& options);

/// The directory a dataset is read from when --data-dir is not given: /usr/share/datasets/<name>.
std::filesystem::path default_data_dir(const std::string& name);

/// Loads train, validation and test sets. The validation examples are a fixed pseudo-random
/// choice from the training file (the same for every seed), so all teachers of a study share it.
/// Images are converted to `options.format()`; when they are the user's own or were converted,
/// the normalisation is each channel's mean and std over the whole training file.
Dataset load_dataset(const DataOptions& options);

/// How images reach a TorchScript model, `--input`: "normalized" leaves `info` as it is (x =
/// (pixel / 255 - mean) / std per channel, as kdpipe's models take them); "unit" makes the
/// normalisation mean 0, std 1 (x = pixel / 255, in [0, 1]). ConfigError for another value, or
/// for "unit" on feature arrays (which have no pixels).
void apply_input_mode(DatasetInfo& info, const std::string& input);

/// The order the training split of `options` is visited in, from its description (no pixels
/// read): the chunked order for a split of more than kWholeShuffleBytes, as load_dataset sets it.
EpochPattern training_order(const DataOptions& options);

/// The file rows of the training and validation splits of a training file of `n` examples, each
/// increasing; ConfigError for an impossible `val_size`.
std::pair<std::vector<int64_t>, std::vector<int64_t>> hold_out_rows(int64_t n, int64_t val_size);

/// Splits `full` into (train, val) the way load_dataset does. When `full` is the sole owner of its
/// pixels (moved in), the training part is compacted in its storage rather than copied.
std::pair<ImageSet, ImageSet> hold_out(ImageSet full, int64_t val_size);

/// A line for the log when classes have no example in the training split (streamed or held):
/// "no training example of 47 of the 58 classes (class 10, class 11, …): …". Without
/// class_names a file has as many classes as its largest label + 1, so one stray label adds
/// classes a model then learns never to predict. "" when every class has an example.
std::string empty_classes_note(const Dataset& data);

}  // namespace kd
