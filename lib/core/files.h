// Crash-safe file output: everything kdpipe writes goes to a temporary name in the destination
// directory and is renamed over the final name only once complete, so a reader never sees a
// half-written file and an interrupted run leaves nothing that looks finished.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

namespace kd {

/// The temporary name used while `path` is being written ("<name>.tmp-<pid>" beside it).
std::filesystem::path temporary_path_for(const std::filesystem::path& path);

/// Calls write(tmp) to fill a temporary file, then renames it to `path`. On any exception the
/// temporary file is removed and the exception propagates; `path` is untouched.
void write_atomically(const std::filesystem::path& path,
                      const std::function<void(const std::filesystem::path&)>& write);

/// Writes `size` bytes to `path` (created or truncated) and syncs them; StorageError naming
/// `shown` and the system's reason ("No space left on device") when any step fails.
void write_file(const std::filesystem::path& path, const char* data, std::size_t size,
                const std::filesystem::path& shown);

/// Writes `text` (any bytes) to `path` atomically.
void write_text_atomically(const std::filesystem::path& path, const std::string& text);

/// Reads a whole file; StorageError naming the file if it cannot be read.
std::string read_text(const std::filesystem::path& path);

/// The last non-empty line of a text file (after its last '\r' too: a progress bar's last state);
/// "" when the file is missing or unreadable.
std::string last_line(const std::filesystem::path& path);

/// Creates `dir` (and parents) or throws StorageError naming it.
void ensure_directory(const std::filesystem::path& dir);

}  // namespace kd
