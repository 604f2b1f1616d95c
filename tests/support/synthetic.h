// Small datasets written by the tests themselves, in the formats kdpipe reads.
#pragma once

#include <torch/torch.h>

#include <filesystem>

#include "lib/data/image_set.h"

namespace kd::testing {

/// Writes uint8 images [N, 1, H, W] (or [N, H, W]) as an IDX image file; gzipped when `gzip`.
void write_idx_images(const std::filesystem::path& path, const torch::Tensor& images, bool gzip);
/// Writes labels [N] as an IDX label file.
void write_idx_labels(const std::filesystem::path& path, const torch::Tensor& labels, bool gzip);
/// Writes raw bytes, gzipped or not.
void write_bytes(const std::filesystem::path& path, const std::string& bytes, bool gzip);

/// A learnable set: class c lights a bright 6x6 block at a class-specific place on noise.
ImageSet make_synthetic(int64_t n, int64_t classes, int64_t channels, int64_t size, uint64_t seed);

/// Writes an MNIST-layout directory (train-*/t10k-* files, gzipped) of synthetic 28x28 images.
void write_synthetic_mnist(const std::filesystem::path& dir, int64_t n_train, int64_t n_test,
                           uint64_t seed = 1);

/// Writes `files` as an image folder: ROOT/<split>/<class name>/<index, 5 digits>.png, so the
/// folder lists each class's examples in their order in `files`.
void write_image_folder(const std::filesystem::path& root, const DatasetFiles& files);

/// The first `n_train` and `n_test` examples of Fashion-MNIST (from its Debian package), with
/// class names fit for folder names (DataError when the package is missing).
DatasetFiles fashion_mnist_sample(int64_t n_train, int64_t n_test);

/// Saves a TorchScript classifier of 1x28x28 images whose every logit is NaN: a teacher kdpipe
/// must refuse.
void save_nan_teacher(const std::filesystem::path& file);

}  // namespace kd::testing
