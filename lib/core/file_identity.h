// A large input file's identity without reading it at every plan: its content hash, computed
// once and kept beside it with the file's size, times and inode.
#pragma once

#include <filesystem>
#include <string>

namespace kd {

/// hash_file(file), computed once: kept beside the file in `.NAME.kdpipe-hash` together with the
/// file's size, modification and change times and inode, and read from there while all four are
/// unchanged (the change time cannot be set back, so a rewrite with its old modification time
/// restored is still seen). Where nothing can be written beside the file (a read-only folder), the
/// file is hashed each time; a damaged or foreign `.kdpipe-hash` is ignored and rewritten.
std::string stored_file_hash(const std::filesystem::path& file);

/// The file stored_file_hash keeps `file`'s hash in.
std::filesystem::path stored_hash_path(const std::filesystem::path& file);

}  // namespace kd
