// A cache header (storage/cache_header.h) as the root attributes of an HDF5 file: the one
// mapping between CacheHeader's fields and the attribute names h5py users see.
#pragma once

#include <torch/torch.h>

#include <filesystem>

#include "storage/cache_header.h"
#include "storage/h5.h"

namespace kd {

/// Writes every field of `h` as an attribute of `root` (replacing existing ones).
void write_header(hid_t root, const CacheHeader& h, const std::filesystem::path& file);

/// Reads a header; StorageError naming the file and the field when the format or version is not
/// this kdpipe's, or an attribute is missing. Caches without class_names read as empty names.
/// With `format_1_too`, a format-1 header reads too (for its upgrade).
CacheHeader read_header(hid_t root, const std::filesystem::path& file, bool format_1_too = false);

/// The attribute counting the chunks a writer has finished (present while a cache is unfinished
/// and, equal to the chunk count, once it is whole).
inline constexpr const char* kChunksDone = "chunks_done";

inline int64_t chunk_count_of(const CacheHeader& h) {
  return h.chunk > 0 ? (h.n + h.chunk - 1) / h.chunk : 0;
}

/// Type used in memory for the stored dtype: float32 tensors are written and read as float32,
/// float16 ones as IEEE half (the bits of a torch kHalf tensor).
inline torch::ScalarType tensor_type(const CacheHeader& h) {
  return h.dtype == "float16" ? torch::kHalf : torch::kFloat32;
}

}  // namespace kd
