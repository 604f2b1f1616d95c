#include "tests/fuzz/fuzz_input.h"

#include <unistd.h>

#include <fstream>

namespace kd::fuzz {

namespace fs = std::filesystem;

namespace {

// In memory where the machine offers it: a fuzzer writes this file thousands of times a second.
// Removed at a normal exit; a crashing run leaves it for the crash's inspection.
struct ScratchDir {
  fs::path path;
  ScratchDir() {
    const fs::path shm = "/dev/shm";
    const fs::path base = fs::is_directory(shm) ? shm : fs::temp_directory_path();
    path = base / ("kdpipe-fuzz-" + std::to_string(::getpid()));
    fs::create_directories(path);
  }
  ~ScratchDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
};

const fs::path& scratch_dir() {
  static const ScratchDir dir;
  return dir.path;
}

}  // namespace

fs::path input_file(const uint8_t* data, std::size_t size, const std::string& name) {
  const fs::path path = scratch_dir() / name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  out.close();
  if (!out) throw std::runtime_error("fuzz harness: cannot write " + path.string());
  return path;
}

}  // namespace kd::fuzz
