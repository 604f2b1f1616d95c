// The array-file dataset format (lib/data/array_file.h) in HDF5: the reader kdpipe's commands
// install, and the writer behind `kdpipe import`.
#pragma once

#include <filesystem>

#include "lib/data/image_codec.h"
#include "lib/data/image_set.h"
#include "lib/train/progress.h"

namespace kd {

/// Installs this file's reader for lib/data, so --dataset FILE.h5 works in this process.
void enable_array_files();

/// Name (the file's stem), shape and classes of an array file, reading labels but no pixels.
DatasetInfo probe_array_file(const std::filesystem::path& path);

/// Both splits of an array file, images as uint8 [N, C, H, W]. DataError naming the file and the
/// array that is missing, of another type, or mis-shaped.
DatasetFiles read_array_file(const std::filesystem::path& path);

/// Writes `files` as an array file, atomically: /train and /test images uint8 [N, H, W, C] (float
/// feature arrays as /train/inputs and /test/inputs float32 [N, ...])
/// (chunked by example, gzip level `compress`, 0 for none), labels int64, class_names.
void write_array_file(const std::filesystem::path& path, const DatasetFiles& files,
                      const std::string& source, int compress);

/// What `kdpipe import` wrote.
struct ImportSummary {
  int64_t train = 0, test = 0;  ///< images
  ImageFormat format;           ///< every image's channels and size
  int64_t classes = 0;
};

/// `kdpipe import`: decodes the image folder at `root` (lib/data/image_folder.h) into an array
/// file at `path`, atomically, `block_bytes` of decoded images at a time: memory holds one block
/// whatever the folder's size. The file equals write_array_file of read_image_folder's result.
ImportSummary import_image_folder(const std::filesystem::path& root, const ImageFormat& format,
                                  const std::filesystem::path& path, int compress,
                                  Progress& progress, int64_t block_bytes = int64_t{256} << 20);

}  // namespace kd
