// LibTorch archives (checkpoints, TorchScript modules, predictions) are ZIP files, and LibTorch
// parses what they hold without checking it: a damaged archive can crash its unpickler. Each
// entry's CRC-32 is checked here first, so damage is a named error before LibTorch sees a byte.
#pragma once

#include <filesystem>
#include <string>

namespace kd {

/// Checks that `path` is a whole ZIP archive (end record, central directory, local headers) whose
/// every stored entry matches its CRC-32. Throws E naming `what` and the file (and the entry) for
/// anything else. Entries past 4 GiB (ZIP64) are checked for presence only.
template <typename E>
void check_zip_archive(const std::filesystem::path& path, const std::string& what);

}  // namespace kd
