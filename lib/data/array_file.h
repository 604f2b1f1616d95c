// Datasets as array files: what a Python user writes with h5py in five lines.
//
//   /train/images  uint8 [N, H, W, C]  (or [N, H, W] for grey images)
//   /train/labels  integer [N], in [0, classes)
//   /test/images, /test/labels         the same for the test set
//   class_names    optional root attribute, one string per class
//
// or, for data that is no images (tabular features, audio features, embeddings), a feature array:
//
//   /train/inputs  float32 or float16 (or float64) [N, ...]: 1 to 4 dimensions per example, read
//                  as float32 and taken as they are
//                  (no image augmentation, no pixel normalisation; --standardize standardises
//                  each value; augmentation is Gaussian noise, see make_batch)
//
// Reading HDF5 is storage/'s work (HDF5 stays there): storage registers its reader here, and
// lib/ sees only tensors. Programs that load array files call kd::enable_array_files() once.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>

#include "lib/data/example_stream.h"
#include "lib/data/image_set.h"

namespace kd {

struct ArrayFileReader {
  /// Shape and classes, from the arrays' shapes, the labels and class_names; no pixels read.
  std::function<DatasetInfo(const std::filesystem::path&)> probe;
  /// Both splits, images as uint8 [N, C, H, W]; DataError naming the file and the array that is
  /// missing or mis-shaped.
  std::function<DatasetFiles(const std::filesystem::path&)> read;
  /// /<split>/images' examples at `rows` (file rows, increasing; empty: all of them) as a stream
  /// (lib/data/example_stream.h) that reads ahead at most `memory` bytes of them; ConfigError
  /// when two of its windows do not fit. Image files only.
  std::function<std::shared_ptr<ExampleStream>(const std::filesystem::path&, const std::string&,
                                               std::vector<int64_t>, int64_t)>
      stream;
};

/// Installs the reader (storage/ does: kd::enable_array_files()).
void register_array_file_reader(ArrayFileReader reader);

/// The installed reader; ConfigError naming `path` when the program installed none.
const ArrayFileReader& array_file_reader(const std::filesystem::path& path);

}  // namespace kd
