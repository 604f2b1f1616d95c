// IDX files, the MNIST / Fashion-MNIST layout, gzipped or raw.
#pragma once

#include <filesystem>

#include "lib/data/image_set.h"

namespace kd {

/// Reads an IDX image file (magic 0x00000803) into uint8 [N, 1, H, W]. DataError naming the file
/// for a missing file, a wrong magic number or truncated pixel data.
torch::Tensor read_idx_images(const std::filesystem::path& path);

/// Reads an IDX label file (magic 0x00000801) into int64 [N].
torch::Tensor read_idx_labels(const std::filesystem::path& path);

/// Reads one split ("train" or "t10k") of an MNIST-layout directory, accepting `<name>.gz` or the
/// uncompressed `<name>`, and checks that labels match images in count and range.
ImageSet read_idx_split(const std::filesystem::path& dir, const std::string& prefix,
                        int64_t classes);

}  // namespace kd
