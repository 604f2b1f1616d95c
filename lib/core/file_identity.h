// A large input file's identity without reading it at every plan: its content hash, computed
// once and kept beside it with the file's size and modification time.
#pragma once

#include <filesystem>
#include <string>

namespace kd {

/// hash_file(file), computed once: kept beside the file in `.NAME.kdpipe-hash` together with the
/// file's size and modification time (in nanoseconds), and read from there while both are
/// unchanged. Where nothing can be written beside the file (a read-only folder), the file is
/// hashed each time; a damaged or foreign `.kdpipe-hash` is ignored and rewritten.
std::string stored_file_hash(const std::filesystem::path& file);

/// The file stored_file_hash keeps `file`'s hash in.
std::filesystem::path stored_hash_path(const std::filesystem::path& file);

}  // namespace kd
