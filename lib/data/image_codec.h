// Image files in and out, through one library (OpenCV's imgcodecs and imgproc). Every other
// file of kdpipe sees images only as uint8 tensors [C, H, W] with channels in RGB order.
#pragma once

#include <torch/torch.h>

#include <filesystem>

namespace kd {

/// The shape images are converted to; 0 in a field keeps what the image has.
struct ImageFormat {
  int64_t channels = 0;  ///< 1 (grey) or 3 (RGB)
  int64_t height = 0;
  int64_t width = 0;
};

/// Decodes a PNG or JPEG file into uint8 [C, H, W]: C is 1 for grey images and 3 (RGB) for
/// colour ones (alpha is dropped, 16-bit samples are scaled to 8 bits). DataError naming the file
/// when it cannot be read or decoded.
torch::Tensor decode_image(const std::filesystem::path& path);

/// `image` (uint8 [C, H, W], C 1 or 3) converted to `format`: grey ↔ RGB by ITU-R 601 luma or
/// replication, resized with area averaging when shrinking and bilinear interpolation when
/// enlarging. Returns `image` itself when nothing changes.
torch::Tensor convert_image(const torch::Tensor& image, const ImageFormat& format);

/// Writes uint8 [C, H, W] (C 1 or 3, RGB) as a lossless PNG; StorageError naming the file.
void write_png(const std::filesystem::path& path, const torch::Tensor& image);

}  // namespace kd
