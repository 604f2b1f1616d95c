#include "lib/core/file_identity.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include "lib/core/error.h"
#include "lib/core/files.h"
#include "lib/core/hash.h"

namespace kd {

namespace fs = std::filesystem;

namespace {

constexpr const char* kTag = "kdpipe-file-hash-v2";

// "TAG SIZE MTIME CTIME INODE HASH": what the hash was computed over, and the hash. The change
// time is the kernel's own (no tool sets it back, as `touch -d` or `cp -p` set a modification
// time back): any write to the file changes it.
std::string record(const fs::path& file, const std::string& hash) {
  struct stat st {};
  check<StorageError>(::stat(file.c_str(), &st) == 0, "reading ", file.string(), ": ",
                      std::strerror(errno));
  std::ostringstream o;
  o << kTag << " " << st.st_size << " " << st.st_mtim.tv_sec << "." << st.st_mtim.tv_nsec << " "
    << st.st_ctim.tv_sec << "." << st.st_ctim.tv_nsec << " " << st.st_ino << " " << hash << "\n";
  return o.str();
}

}  // namespace

fs::path stored_hash_path(const fs::path& file) {
  return file.parent_path() / ("." + file.filename().string() + ".kdpipe-hash");
}

std::string stored_file_hash(const fs::path& file) {
  const fs::path stored = stored_hash_path(file);
  std::error_code ec;
  if (fs::is_regular_file(stored, ec)) {
    try {
      std::istringstream in(read_text(stored, 4096));
      std::string tag, size, mtime, ctime, inode, hash;
      in >> tag >> size >> mtime >> ctime >> inode >> hash;
      if (tag == kTag && record(file, hash) == read_text(stored, 4096)) return hash;
    } catch (const std::exception&) {
      // unreadable: hash again below
    }
  }
  const std::string hash = hash_file(file);
  // The file's size and time are taken after hashing: a file changed meanwhile gets a record
  // that no longer matches it, and is hashed again next time.
  try {
    write_text_atomically(stored, record(file, hash));
  } catch (const std::exception&) {
    // Nothing can be written beside it: the hash is recomputed at each plan.
  }
  return hash;
}

}  // namespace kd
