// kdpipe's exception hierarchy: one class per domain under one base, so the CLI can print any
// of them as a single line and exit non-zero, and tests can check which kind of input was bad.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace kd {

/// Base of every error kdpipe reports to a user. The message names the file, option or stage.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

/// A dataset file or directory that is missing, truncated or malformed.
class DataError : public Error {
  using Error::Error;
};

/// A bad option value, model spec or study file.
class ConfigError : public Error {
  using Error::Error;
};

/// A checkpoint, cache or other kdpipe file that cannot be read or written.
class StorageError : public Error {
  using Error::Error;
};

/// Training that cannot go on (a non-finite loss, for instance).
class TrainingError : public Error {
  using Error::Error;
};

namespace detail {
template <typename... Args>
std::string concat(Args&&... args) {
  std::ostringstream out;
  (out << ... << std::forward<Args>(args));
  return out.str();
}
}  // namespace detail

/// Throws E with the streamed arguments as its message when cond is false.
template <typename E, typename... Args>
void check(bool cond, Args&&... args) {
  if (!cond) throw E(detail::concat(std::forward<Args>(args)...));
}

}  // namespace kd
