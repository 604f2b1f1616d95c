// The array file opened and checked (storage/array_file.cpp), for its readers: the whole-file
// reader there and the stream (storage/array_stream.cpp).
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <vector>

#include "storage/h5.h"

namespace kd {

struct SplitShape {
  int64_t n = 0, height = 0, width = 0, channels = 0;
  std::vector<int64_t> features{};  ///< /SPLIT/inputs: one example's shape; empty for images
};

struct Opened {
  h5::Handle file;
  SplitShape train, test;
  std::vector<std::string> class_names;
};

/// The file opened and its structure checked (DataError naming what is wrong); read first in a
/// child, where a libhdf5 crash on a damaged file ends only the child.
Opened open_checked(const std::filesystem::path& path);

/// /<split>/labels as int64 [n].
torch::Tensor read_labels(hid_t file, const std::filesystem::path& path, const std::string& split,
                          int64_t n);

}  // namespace kd
