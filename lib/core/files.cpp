#include "lib/core/files.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
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
  check_replaceable(path, "writing " + path.string());
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

std::string read_text(const fs::path& path, std::uintmax_t max_bytes) {
  check_readable_file(path, "reading");
  std::error_code ec;
  const std::uintmax_t size = fs::file_size(path, ec);
  check<StorageError>(!ec && size <= max_bytes, "reading ", path.string(), ": ",
                      ec ? ec.message()
                         : std::to_string(size) + " bytes, more than the " +
                               std::to_string(max_bytes) + " such a file may hold");
  std::ifstream in(path, std::ios::binary);
  check<StorageError>(static_cast<bool>(in), "reading ", path.string(),
                      ": file missing or unreadable");
  std::string text(size, '\0');
  in.read(text.data(), static_cast<std::streamsize>(size));
  text.resize(static_cast<std::size_t>(in.gcount()));  // a file that shrank meanwhile
  return text;
}

std::string last_line(const fs::path& path) {
  constexpr std::uintmax_t kTail = 64 << 10;
  std::string text;
  try {
    check_readable_file(path, "reading");
    const std::uintmax_t size = fs::file_size(path);
    std::ifstream in(path, std::ios::binary);
    if (size > kTail) in.seekg(static_cast<std::streamoff>(size - kTail));
    text.resize(std::min(size, kTail));
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<std::size_t>(in.gcount()));
  } catch (const std::exception&) {
    return "";
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  const auto nl = text.find_last_of("\r\n");
  return nl == std::string::npos ? text : text.substr(nl + 1);
}

std::string file_kind(const fs::path& path) {
  std::error_code ec;
  switch (fs::status(path, ec).type()) {
    case fs::file_type::not_found:
      return "missing";
    case fs::file_type::regular:
      return "a regular file";
    case fs::file_type::directory:
      return "a directory";
    case fs::file_type::fifo:
      return "a FIFO";
    case fs::file_type::character:
      return "a character device";
    case fs::file_type::block:
      return "a block device";
    case fs::file_type::socket:
      return "a socket";
    default:
      return ec ? "unreadable (" + ec.message() + ")" : "not a regular file";
  }
}

void check_replaceable(const fs::path& path, const std::string& what) {
  std::error_code ec;
  const fs::file_type type = fs::status(path, ec).type();
  check<StorageError>(type == fs::file_type::not_found || type == fs::file_type::regular, what,
                      ": ", path.string(), " exists and is ", file_kind(path),
                      ", not a regular file; kdpipe replaces its outputs and will not replace it");
}

void check_readable_file(const fs::path& path, const std::string& what) {
  std::error_code ec;
  const fs::file_type type = fs::status(path, ec).type();
  check<StorageError>(type != fs::file_type::not_found, what, " ", path.string(), ": no such file");
  check<StorageError>(type == fs::file_type::regular, what, " ", path.string(), ": ",
                      file_kind(path), ", not a regular file");
}

namespace {

// Whether every component of `base` starts `path` (both absolute and canonical).
bool is_within(const fs::path& path, const fs::path& base) {
  auto p = path.begin();
  auto b = base.begin();
  while (b != base.end() && p != path.end() && *b == *p) ++b, ++p;
  return b == base.end();
}

}  // namespace

void check_not_an_input(const fs::path& output, const fs::path& input, const std::string& option) {
  std::error_code ec;
  const fs::path out = fs::weakly_canonical(fs::absolute(output), ec);
  const fs::path in = fs::weakly_canonical(fs::absolute(input), ec);
  bool same = fs::exists(output) && fs::exists(input) && fs::equivalent(output, input, ec);
  if (!same && !ec) same = is_within(out, in);
  check<ConfigError>(!same, option, ": ", output.string(), " is ",
                     fs::is_directory(input) ? "inside " : "", input.string(),
                     ", which this command reads; choose another output");
}

fs::path inside(const fs::path& root, const std::string& relative, const std::string& what) {
  const fs::path p(relative);
  check<StorageError>(!relative.empty() && p.is_relative(), what, ": '", relative,
                      "' is not a path relative to ", root.string());
  for (const fs::path& part : p) {
    check<StorageError>(part != "..", what, ": '", relative, "' climbs out of ", root.string());
  }
  std::error_code ec;
  const fs::path base = fs::weakly_canonical(fs::absolute(root), ec);
  const fs::path full = fs::weakly_canonical(fs::absolute(root / p), ec);
  check<StorageError>(!ec && is_within(full, base), what, ": '", relative, "' leads out of ",
                      root.string(), " (to ", full.string(), ")");
  return root / p;
}

void ensure_directory(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  check<StorageError>(!ec, "creating directory ", dir.string(), ": ", ec.message());
}

void clear_finished_outputs(const fs::path& dir, const std::vector<fs::path>& inputs) {
  for (const char* name : kFinishedOutputs) {
    for (const fs::path& input : inputs) {
      if (!input.empty()) check_not_an_input(dir / name, input, "--out");
    }
  }
  ensure_directory(dir);
  for (const char* name : kFinishedOutputs) {
    std::error_code ec;
    fs::remove(dir / name, ec);
    check<StorageError>(!ec, "removing the earlier run's ", (dir / name).string(), ": ",
                        ec.message());
  }
}

}  // namespace kd
