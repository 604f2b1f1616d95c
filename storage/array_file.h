// The array-file dataset format (lib/data/array_file.h) in HDF5: the reader kdpipe's commands
// install, and the writer behind `kdpipe import`.
#pragma once

#include <filesystem>

#include "lib/data/image_set.h"

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

}  // namespace kd
