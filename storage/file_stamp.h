// What tells a file rewritten, truncated or replaced since it was opened: a stage's fingerprint
// names what was there then, so a file read as the stage runs is checked against it.
#pragma once

#include <sys/types.h>

#include <ctime>
#include <filesystem>

namespace kd {

struct FileStamp {
  dev_t device = 0;
  ino_t inode = 0;
  off_t size = 0;
  timespec modified{}, changed{};

  /// The file as it is now; StorageError when it is gone.
  static FileStamp of(const std::filesystem::path& path);
  bool operator==(const FileStamp& o) const;
  /// StorageError naming `path` unless it is still the file this stamp was taken of.
  void expect_unchanged(const std::filesystem::path& path) const;
};

}  // namespace kd
