// An exclusive flock on a file, held for the lifetime of the object: two kdpipe processes must
// not write one output at once. A lock goes with its process, so a killed run leaves none behind.
#pragma once

#include <filesystem>

namespace kd {

class FileLock {
 public:
  /// Opens (creating) `path` and tries to lock it without waiting; see held().
  /// A lock file may be removed by its holder (release_and_remove); a process that opened it
  /// just before and locks it after finds it no longer at `path` and tries again on a new one,
  /// so two processes never both hold "the" lock.
  explicit FileLock(const std::filesystem::path& path);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  /// Whether this process now holds the lock (false: another process does, or `path` cannot be
  /// opened).
  bool held() const { return held_; }
  /// Removes the lock file while still holding it, then lets go: nothing is left behind, and no
  /// third process can take a lock on the removed file in between.
  void release_and_remove();

 private:
  std::filesystem::path path_;
  int fd_ = -1;
  bool held_ = false;
};

/// The process that holds a lock on `path` now, as /proc/locks shows it (the lock is not touched,
/// so a process about to take it never finds it taken); 0 when no process on this machine does.
long lock_holder(const std::filesystem::path& path);

}  // namespace kd
