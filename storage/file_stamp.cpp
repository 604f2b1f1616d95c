#include "storage/file_stamp.h"

#include <sys/stat.h>

#include "lib/core/error.h"

namespace kd {

FileStamp FileStamp::of(const std::filesystem::path& path) {
  struct stat st {};
  check<StorageError>(::stat(path.c_str(), &st) == 0, path.string(),
                      ": no longer there while it is read");
  return {st.st_dev, st.st_ino, st.st_size, st.st_mtim, st.st_ctim};
}

bool FileStamp::operator==(const FileStamp& o) const {
  const auto same = [](const timespec& a, const timespec& b) {
    return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
  };
  return device == o.device && inode == o.inode && size == o.size && same(modified, o.modified) &&
         same(changed, o.changed);
}

void FileStamp::expect_unchanged(const std::filesystem::path& path) const {
  check<StorageError>(of(path) == *this, path.string(),
                      ": changed while it was read (its size, times or inode are not those it had "
                      "when opened); stopped rather than go on with other data than its "
                      "fingerprint names");
}

}  // namespace kd
