#include "lib/core/files.h"

#include <unistd.h>

#include <fstream>
#include <sstream>

#include "lib/core/error.h"

namespace kd {

namespace fs = std::filesystem;

fs::path temporary_path_for(const fs::path& path) {
  return path.parent_path() /
         (path.filename().string() + ".tmp-" + std::to_string(static_cast<long>(::getpid())));
}

void write_atomically(const fs::path& path, const std::function<void(const fs::path&)>& write) {
  if (path.has_parent_path()) ensure_directory(path.parent_path());
  const fs::path tmp = temporary_path_for(path);
  try {
    write(tmp);
    std::error_code ec;
    fs::rename(tmp, path, ec);
    check<StorageError>(!ec, "writing ", path.string(), ": cannot rename ", tmp.string(),
                        " into place: ", ec.message());
  } catch (...) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw;
  }
}

void write_text_atomically(const fs::path& path, const std::string& text) {
  write_atomically(path, [&](const fs::path& tmp) {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    check<StorageError>(static_cast<bool>(out), "writing ", path.string(), ": cannot open ",
                        tmp.string());
    out << text;
    out.flush();
    check<StorageError>(static_cast<bool>(out), "writing ", path.string(), ": write failed");
  });
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  check<StorageError>(static_cast<bool>(in), "reading ", path.string(),
                      ": file missing or unreadable");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void ensure_directory(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  check<StorageError>(!ec, "creating directory ", dir.string(), ": ", ec.message());
}

}  // namespace kd
