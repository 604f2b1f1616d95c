// An exclusive flock on a file, held for the lifetime of the object: two kdpipe processes must
// not write one output at once. A lock goes with its process, so a killed run leaves none behind.
#pragma once

#include <filesystem>

namespace kd {

class FileLock {
 public:
  /// Opens (creating) `path` and tries to lock it without waiting; see held().
  explicit FileLock(const std::filesystem::path& path);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  /// Whether this process now holds the lock (false: another process does, or `path` cannot be
  /// opened).
  bool held() const { return held_; }

 private:
  int fd_;
  bool held_;
};

/// The process that holds a lock on `path` now, as /proc/locks shows it (the lock is not touched,
/// so a process about to take it never finds it taken); 0 when no process on this machine does.
long lock_holder(const std::filesystem::path& path);

}  // namespace kd
