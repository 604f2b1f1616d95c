// Datasets in torchvision's ImageFolder layout, the way PyTorch users already keep their images:
//
//   ROOT/train/<class>/*.png|jpg|jpeg
//   ROOT/test/<class>/*.png|jpg|jpeg
//
// Classes are the sorted folder names; the examples of a class are its files in sorted order.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "lib/data/image_codec.h"
#include "lib/data/image_set.h"
#include "lib/train/progress.h"

namespace kd {

/// The image files of one split folder and their labels, in the order they are read.
struct ImageListing {
  std::vector<std::string> classes;
  std::vector<std::filesystem::path> files;
  std::vector<int64_t> labels;
};

/// Lists `split_dir` (ROOT/train, say). DataError naming the folder when it is missing, holds no
/// class folders, or a class folder holds no PNG or JPEG file.
ImageListing list_image_split(const std::filesystem::path& split_dir);

/// Class names and image shape of an image folder, read from its listing and its first image
/// (fields of `format` that are set win). Checks that test classes equal train classes.
DatasetInfo probe_image_folder(const std::filesystem::path& root, const ImageFormat& format);

/// Decodes every image of ROOT/train and ROOT/test in parallel (LibTorch's thread count) into
/// uint8 [N, C, H, W]. Without a size in `format`, every image must have the size of the first;
/// without a channel count, every image is converted to the first image's. DataError naming the
/// file that is unreadable, corrupt or of another size.
DatasetFiles read_image_folder(const std::filesystem::path& root, const ImageFormat& format,
                               Progress& progress);

}  // namespace kd
