#include "lib/core/files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "lib/core/error.h"
#include "lib/core/work_ledger.h"

namespace kd {

namespace fs = std::filesystem;

fs::path temporary_path_for(const fs::path& path) {
  return path.parent_path() /
         (path.filename().string() + ".tmp-" + std::to_string(static_cast<long>(::getpid())));
}

void write_atomically(const fs::path& path, const std::function<void(const fs::path&)>& write) {
  const PhaseScope phase(Phase::write);
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

void write_file(const fs::path& path, const char* data, std::size_t size, const fs::path& shown) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  check<StorageError>(fd >= 0, "writing ", shown.string(), ": ", std::strerror(errno));
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::write(fd, data + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : ENOSPC;
      ::close(fd);
      throw StorageError("writing " + shown.string() + ": " + std::strerror(err));
    }
    done += static_cast<std::size_t>(n);
  }
  // Some file systems report a full disk only when the data is flushed or the file closed.
  const bool synced = ::fsync(fd) == 0 || errno == EINVAL;
  const int sync_err = errno;
  check<StorageError>(::close(fd) == 0 && synced, "writing ", shown.string(), ": ",
                      std::strerror(synced ? errno : sync_err));
}

void write_text_atomically(const fs::path& path, const std::string& text) {
  write_atomically(path,
                   [&](const fs::path& tmp) { write_file(tmp, text.data(), text.size(), path); });
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  check<StorageError>(static_cast<bool>(in), "reading ", path.string(),
                      ": file missing or unreadable");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string last_line(const fs::path& path) {
  std::string text;
  try {
    text = read_text(path);
  } catch (const Error&) {
    return "";
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  const auto nl = text.find_last_of("\r\n");
  return nl == std::string::npos ? text : text.substr(nl + 1);
}

void ensure_directory(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  check<StorageError>(!ec, "creating directory ", dir.string(), ": ", ec.message());
}

}  // namespace kd
