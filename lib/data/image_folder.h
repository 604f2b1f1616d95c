// Datasets in torchvision's ImageFolder layout, the way PyTorch users already keep their images:
//
//   ROOT/train/<class>/*.png|jpg|jpeg
//   ROOT/test/<class>/*.png|jpg|jpeg
//
// Classes are the sorted folder names; the examples of a class are its files in sorted order.
#pragma once

#include <filesystem>
#include <functional>
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

/// An image folder listed, and what every image becomes: `target` (the format asked, completed
/// from the first training image), resized when a size was asked, else refused if of another size.
struct ImageFolderPlan {
  ImageListing train, test;
  ImageFormat target;
  bool resize = false;
  std::filesystem::path first;  ///< the first training image, named in a size mismatch
};

/// Lists ROOT/train and ROOT/test (their classes must be the same) and decodes the first image.
ImageFolderPlan plan_image_folder(const std::filesystem::path& root, const ImageFormat& format);

/// Receives `block` examples of `split` ("train", then "test") starting at example `first`.
using ImageBlockSink =
    std::function<void(const std::string& split, int64_t first, const ImageSet& block)>;

/// Decodes the planned images `block` at a time, in parallel within a block (LibTorch's thread
/// count), handing each block to `sink` in order: memory holds one block, whatever the folder's
/// size (`kdpipe import`). DataError naming the first file that is unreadable, corrupt or of
/// another size.
void decode_image_folder(const ImageFolderPlan& plan, int64_t block, Progress& progress,
                         const ImageBlockSink& sink);

/// Decodes every image of ROOT/train and ROOT/test in parallel (LibTorch's thread count) into
/// uint8 [N, C, H, W]. Without a size in `format`, every image must have the size of the first;
/// without a channel count, every image is converted to the first image's. DataError naming the
/// file that is unreadable, corrupt or of another size.
DatasetFiles read_image_folder(const std::filesystem::path& root, const ImageFormat& format,
                               Progress& progress);

}  // namespace kd
