// The datasets kdpipe knows by name, and how to load one with its validation split.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <vector>

#include "lib/data/image_set.h"

namespace kd {

struct DataOptions {
  explicit DataOptions(std::string name = "fashion-mnist") : name_(std::move(name)) {}
  /// fashion-mnist, mnist, cifar10 or cifar100.
  TORCH_ARG(std::string, name);
  /// Directory holding the dataset's files; empty means the dataset's default location.
  TORCH_ARG(std::filesystem::path, data_dir);
  /// Examples held out from the training file as the validation split.
  TORCH_ARG(int64_t, val_size) = 5000;
};

/// Names accepted by DataOptions::name.
std::vector<std::string> dataset_names();

/// Shape, classes and normalisation of a named dataset; ConfigError for an unknown name.
DatasetInfo dataset_info(const std::string& name);

/// The directory a dataset is read from when --data-dir is not given: /usr/share/datasets/<name>.
std::filesystem::path default_data_dir(const std::string& name);

/// Loads train, validation and test sets. The validation examples are a fixed pseudo-random
/// choice from the training file (the same for every seed), so all teachers of a study share it.
Dataset load_dataset(const DataOptions& options);

/// Splits `full` into (train, val) the way load_dataset does.
std::pair<ImageSet, ImageSet> hold_out(const ImageSet& full, int64_t val_size);

}  // namespace kd
