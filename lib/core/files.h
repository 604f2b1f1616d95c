// Crash-safe file output: everything kdpipe writes goes to a temporary name in the destination
// directory and is renamed over the final name only once complete, so a reader never sees a
// half-written file and an interrupted run leaves nothing that looks finished.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

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

/// The largest file read_text reads unless told otherwise: kdpipe's own text files (studies,
/// JSON records, logs) are far smaller, and a file that is not (a device, a planted link) must
/// not take the memory of the machine.
constexpr std::uintmax_t kMaxTextBytes = std::uintmax_t{256} << 20;

/// Reads a whole regular file; StorageError naming the file if it is missing, unreadable, not a
/// regular file (a directory, a FIFO, a device), or larger than `max_bytes`.
std::string read_text(const std::filesystem::path& path, std::uintmax_t max_bytes = kMaxTextBytes);

/// The last non-empty line of a text file (after its last '\r' too: a progress bar's last state),
/// read from its last 64 KiB; "" when the file is missing or unreadable.
std::string last_line(const std::filesystem::path& path);

/// What kind of file system object `path` is, in words ("a directory", "a FIFO", "a character
/// device", "a regular file", "missing", ...). Links are followed.
std::string file_kind(const std::filesystem::path& path);

/// StorageError unless `path` is missing or a regular file: kdpipe replaces its outputs by
/// renaming over them, which would turn a device node or FIFO (`--out /dev/full`) into a file.
/// `what` names the option or output in the message.
void check_replaceable(const std::filesystem::path& path, const std::string& what);

/// StorageError unless `path` names an existing regular file to read: "no such file", "is a
/// directory", "is a FIFO, not a regular file", each naming `what` and the path.
void check_readable_file(const std::filesystem::path& path, const std::string& what);

/// ConfigError naming `option` when `output` is the same file as `input` (or inside `input`, a
/// directory): a command must not replace what it reads.
void check_not_an_input(const std::filesystem::path& output, const std::filesystem::path& input,
                        const std::string& option);

/// `relative`, a path read from a run's own records, resolved under `root`: StorageError naming
/// `what` when it is absolute, climbs out with "..", or leads outside `root` through a link.
std::filesystem::path inside(const std::filesystem::path& root, const std::string& relative,
                             const std::string& what);

/// Creates `dir` (and parents) or throws StorageError naming it.
void ensure_directory(const std::filesystem::path& dir);

/// The files a teach or distill folder holds once finished: removed when a new run into the
/// folder starts (clear_finished_outputs), so a failed run never looks finished by an earlier
/// run's files. Files that let a run resume are not among them.
inline const char* const kFinishedOutputs[] = {"metrics.json", "model.pt", "predictions.pt"};

/// Creates `dir` and removes the kFinishedOutputs an earlier run left there. ConfigError naming
/// the input first when one of `inputs` (the files the command reads) is among them: a
/// `teach --torchscript DIR/model.pt --out DIR` must not delete the model it was asked about.
void clear_finished_outputs(const std::filesystem::path& dir,
                            const std::vector<std::filesystem::path>& inputs = {});

}  // namespace kd
