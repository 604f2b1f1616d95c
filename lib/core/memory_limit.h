// How much memory this process may use, for --memory's default: the memory cgroup's limit (v2
// memory.max, v1 memory.limit_in_bytes), else SLURM's allocation (SLURM_MEM_PER_NODE, or
// SLURM_MEM_PER_CPU times SLURM_CPUS_ON_NODE), else half of the machine's memory.
#pragma once

#include <cstdint>
#include <string>

namespace kd {

struct MemoryLimit {
  int64_t bytes = 0;
  std::string source;  ///< "cgroup v2", "cgroup v1", "SLURM", or "half of MemTotal"
};

/// The limit as above; `root` is where the cgroup and /proc files are read (tests pass a folder).
MemoryLimit memory_limit(const std::string& root = "");

/// What the process keeps for itself beside its data (LibTorch, the model, a batch): the floor
/// measured for a stage is about 270 MB.
constexpr int64_t kProcessReserve = int64_t{512} << 20;

/// --memory's default, the memory the data may take: memory_limit(root) less kProcessReserve
/// (less half of it, where it is under twice that), its source saying so.
MemoryLimit data_memory(const std::string& root = "");

}  // namespace kd
