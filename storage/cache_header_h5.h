// A cache header (storage/cache_header.h) as the root attributes of an HDF5 file: the one
// mapping between CacheHeader's fields and the attribute names h5py users see.
#pragma once

#include <filesystem>

#include "storage/cache_header.h"
#include "storage/h5.h"

namespace kd {

/// Writes every field of `h` as an attribute of `root` (replacing existing ones).
void write_header(hid_t root, const CacheHeader& h, const std::filesystem::path& file);

/// Reads a header; StorageError naming the file and the field when the format or version is not
/// this kdpipe's, or an attribute is missing. Caches without class_names read as empty names.
CacheHeader read_header(hid_t root, const std::filesystem::path& file);

}  // namespace kd
