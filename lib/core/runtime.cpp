#include "lib/core/runtime.h"

#include <dlfcn.h>
#include <malloc.h>
#include <sched.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <thread>

#include "lib/core/error.h"
#include "lib/core/version.h"

namespace kd {

int available_cores() {
  // The CPUs this process may run on: a cluster job, a container or `taskset` gets fewer than
  // the machine has, and threads beyond them only contend.
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

void keep_freed_memory() {
  constexpr int kKeep = 1 << 30;  // bytes
  // A fixed threshold also stops glibc from adapting it (which it does only up to 32 MiB).
  ::mallopt(M_MMAP_THRESHOLD, kKeep);
  ::mallopt(M_TRIM_THRESHOLD, kKeep);
  // One arena for all threads: a thread's own arena grows in 64 MiB heaps, so its larger blocks
  // (a CNN's 1024-image activations in a cache worker) would still be mapped and unmapped.
  ::mallopt(M_ARENA_MAX, 1);
}

namespace {

const char* openblas_core() {
  using CoreName = char* (*)();
  const auto name = reinterpret_cast<CoreName>(::dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  return name == nullptr ? nullptr : name();
}

}  // namespace

const char* better_blas_kernels(const char* loaded, bool user_chose, const CpuFeatures& cpu) {
  if (user_chose || loaded == nullptr || std::string(loaded) != "Prescott") return nullptr;
  if (cpu.avx512) return "SkylakeX";
  if (cpu.avx2_fma) return "Haswell";
  return nullptr;
}

void use_fast_blas_kernels(char** argv) {
  __builtin_cpu_init();
  CpuFeatures cpu;
  cpu.avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
               __builtin_cpu_supports("avx512cd");
  cpu.avx2_fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  const char* kernels =
      better_blas_kernels(openblas_core(), std::getenv("OPENBLAS_CORETYPE") != nullptr, cpu);
  if (kernels == nullptr) return;
  // OpenBLAS reads the variable only when it loads: the program must start again. The variable
  // then stays set, so this happens once, and stage processes inherit it.
  ::setenv("OPENBLAS_CORETYPE", kernels, 1);
  ::execv("/proc/self/exe", argv);
  ::unsetenv("OPENBLAS_CORETYPE");  // the re-run failed: go on with the kernels loaded
}

std::string blas_kernels() {
  const char* core = openblas_core();
  return core == nullptr ? "" : std::string("OpenBLAS ") + core;
}

const char* version() { return KD_VERSION; }

std::string utc_timestamp() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  ::gmtime_r(&now, &utc);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buf;
}

}  // namespace kd
