#include "lib/core/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

namespace kd {

FileLock::FileLock(const std::filesystem::path& path) : path_(path) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) return;
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) return;  // another process holds it
    // Locked — but the file may have been removed by its holder meanwhile: then this lock is on
    // a file nobody else will find. Only the file still at `path` counts.
    struct stat locked {
    }, named{};
    if (::fstat(fd_, &locked) == 0 && ::stat(path.c_str(), &named) == 0 &&
        locked.st_dev == named.st_dev && locked.st_ino == named.st_ino) {
      held_ = true;
      return;
    }
    ::close(fd_);
    fd_ = -1;
  }
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);
}

void FileLock::release_and_remove() {
  if (!held_) return;
  ::unlink(path_.c_str());
  ::close(fd_);
  fd_ = -1;
  held_ = false;
}

long lock_holder(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  char device[64];
  std::snprintf(device, sizeof device, "%02x:%02x:%llu", ::major(st.st_dev), ::minor(st.st_dev),
                static_cast<unsigned long long>(st.st_ino));
  // "1: FLOCK  ADVISORY  WRITE 4242 00:2a:1234567 0 EOF"; waiters' lines have "->" after the id.
  std::ifstream locks("/proc/locks");
  std::string line;
  while (std::getline(locks, line)) {
    std::istringstream fields(line);
    std::string id, type, mode, access, where;
    long pid = 0;
    if (!(fields >> id >> type) || type == "->") continue;
    if (fields >> mode >> access >> pid >> where && where == device) return pid;
  }
  return 0;
}

}  // namespace kd
