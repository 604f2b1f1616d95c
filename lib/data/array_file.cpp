#include "lib/data/array_file.h"

#include <mutex>

#include "lib/core/error.h"

namespace kd {

namespace {

std::mutex reader_mutex;
ArrayFileReader installed;

}  // namespace

void register_array_file_reader(ArrayFileReader reader) {
  const std::lock_guard<std::mutex> lock(reader_mutex);
  installed = std::move(reader);
}

const ArrayFileReader& array_file_reader(const std::filesystem::path& path) {
  const std::lock_guard<std::mutex> lock(reader_mutex);
  check<ConfigError>(static_cast<bool>(installed.read), "--dataset ", path.string(),
                     ": this program cannot read array files (it does not link kd::storage or ",
                     "never calls kd::enable_array_files())");
  return installed;
}

}  // namespace kd
