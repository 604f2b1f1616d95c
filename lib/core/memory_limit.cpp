#include "lib/core/memory_limit.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace kd {

namespace {

// The first number in `path`; 0 when it cannot be read or says "max".
int64_t number_in(const std::string& path) {
  std::ifstream in(path);
  std::string word;
  if (!(in >> word) || word == "max") return 0;
  char* end = nullptr;
  const long long v = std::strtoll(word.c_str(), &end, 10);
  return end != word.c_str() && v > 0 ? static_cast<int64_t>(v) : 0;
}

// The cgroup path of this process for `controller` ("" for cgroup v2's unified line).
std::string cgroup_of(const std::string& root, const std::string& controller) {
  std::ifstream in(root + "/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    const auto a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    const std::string controllers = line.substr(a + 1, b - a - 1);
    std::stringstream names(controllers);
    std::string name;
    bool match = controller.empty() && controllers.empty();
    while (!controller.empty() && std::getline(names, name, ','))
      match = match || name == controller;
    if (match) return line.substr(b + 1);
  }
  return "";
}

// Absent, or beyond any machine (v1 writes "no limit" as 2^63 rounded to pages).
bool is_limit(int64_t v) { return v > 0 && v < (int64_t{1} << 50); }

int64_t env_mb(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return 0;
  char* end = nullptr;
  const long long n = std::strtoll(v, &end, 10);
  // Megabytes as SLURM writes them: digits only, and within any machine (2^30 MB).
  return end != v && *end == '\0' && n > 0 && n <= (1LL << 30) ? static_cast<int64_t>(n) : 0;
}

}  // namespace

MemoryLimit memory_limit(const std::string& root) {
  const std::string v2 = cgroup_of(root, "");
  if (!v2.empty()) {
    const int64_t v = number_in(root + "/sys/fs/cgroup" + v2 + "/memory.max");
    if (is_limit(v)) return {v, "cgroup v2"};
  }
  const std::string v1 = cgroup_of(root, "memory");
  if (!v1.empty()) {
    const int64_t v = number_in(root + "/sys/fs/cgroup/memory" + v1 + "/memory.limit_in_bytes");
    if (is_limit(v)) return {v, "cgroup v1"};
  }
  if (const int64_t node = env_mb("SLURM_MEM_PER_NODE")) return {node << 20, "SLURM"};
  if (const int64_t cpu = env_mb("SLURM_MEM_PER_CPU")) {
    const int64_t cpus = std::max<int64_t>(1, env_mb("SLURM_CPUS_ON_NODE"));
    return {std::min<int64_t>(cpu * cpus, int64_t{1} << 30) << 20, "SLURM"};
  }
  std::ifstream in(root + "/proc/meminfo");
  std::string key;
  int64_t kb = 0;
  while (in >> key >> kb) {
    if (key == "MemTotal:") return {kb * 1024 / 2, "half of MemTotal"};
    in.ignore(1 << 10, '\n');
  }
  return {int64_t{2} << 30, "2 GiB (no MemTotal)"};
}

MemoryLimit data_memory(const std::string& root) {
  const MemoryLimit process = memory_limit(root);
  const int64_t reserve = std::min(kProcessReserve, process.bytes / 2);
  return {process.bytes - reserve,
          process.source + " less " + std::to_string(reserve >> 20) + " MB for the process"};
}

}  // namespace kd
