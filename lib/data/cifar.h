// The CIFAR-10 and CIFAR-100 binary formats (the "binary version" archives, unpacked).
#pragma once

#include <filesystem>
#include <vector>

#include "lib/data/image_set.h"

namespace kd {

/// Reads CIFAR binary files into one set. Each record is `label_bytes` label bytes (1 for
/// CIFAR-10; 2 for CIFAR-100, coarse then fine, of which the fine label is kept) followed by
/// 3x32x32 pixels. DataError naming the file for a missing file, a size that is not a whole
/// number of records, or a label outside [0, classes).
ImageSet read_cifar_files(const std::vector<std::filesystem::path>& files, int label_bytes,
                          int64_t classes);

}  // namespace kd
