#include "lib/core/file_identity.h"

#include <sstream>

#include "lib/core/error.h"
#include "lib/core/files.h"
#include "lib/core/hash.h"

namespace kd {

namespace fs = std::filesystem;

namespace {

constexpr const char* kTag = "kdpipe-file-hash-v1";

// "TAG SIZE MTIME_NS HASH": what the hash was computed over, and the hash.
std::string record(const fs::path& file, const std::string& hash) {
  std::ostringstream o;
  o << kTag << " " << fs::file_size(file) << " "
    << fs::last_write_time(file).time_since_epoch().count() << " " << hash << "\n";
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
      std::string tag, size, mtime, hash;
      in >> tag >> size >> mtime >> hash;
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
