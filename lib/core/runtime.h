// What kdpipe knows of its process without LibTorch: the CPUs it may use, its version and the
// time, for the records it writes. Compute settings (threads, devices) are in compute.h.
#pragma once

#include <string>

namespace kd {

/// Number of CPUs this process may run on: its affinity mask, so a cluster job's allocation or a
/// `taskset`, not the whole machine.
int available_cores();

/// Makes glibc's malloc keep the memory a process frees for its next allocation instead of
/// handing large blocks back to the kernel: LibTorch frees and re-allocates its activation
/// buffers every batch, and by default each buffer past 128 KiB–32 MiB is mmap'ed, unmapped and
/// page-faulted back in, which made a third of a CNN's training time system time. Blocks above
/// 1 GiB are still mapped and returned; all threads share one arena. Call once at start-up, before
/// threads exist.
void keep_freed_memory();

/// OpenBLAS picks its kernels from the CPU's model when it loads. A CPU it does not know (a newer
/// one, or a virtual machine that reports a plain "Intel Xeon Processor") gets its generic
/// "Prescott" kernels, 5x slower for sgemm. When that happened and the CPU has AVX-512 (or
/// AVX2 and FMA), this re-runs the program with OPENBLAS_CORETYPE naming those kernels (SkylakeX,
/// Haswell); it returns, changing nothing, when OPENBLAS_CORETYPE is already set, the BLAS is not
/// OpenBLAS, OpenBLAS recognised the CPU, or the re-run fails. Call first thing in main.
void use_fast_blas_kernels(char** argv);

/// The instructions better_blas_kernels asks about.
struct CpuFeatures {
  bool avx512 = false;    ///< AVX-512 F, CD, BW, DQ and VL
  bool avx2_fma = false;  ///< AVX2 and FMA
};

/// The decision of use_fast_blas_kernels: the OpenBLAS core to run with instead of `loaded` (the
/// one OpenBLAS chose), or nullptr to keep it — always when the user set OPENBLAS_CORETYPE, and
/// unless OpenBLAS fell back to its generic "Prescott" kernels on a CPU that allows better.
const char* better_blas_kernels(const char* loaded, bool user_chose, const CpuFeatures& cpu);

/// The BLAS kernels in use ("OpenBLAS SkylakeX"), or "" when the BLAS is not OpenBLAS.
std::string blas_kernels();

/// kdpipe's version string, recorded in every file it writes.
const char* version();

/// The current time as "YYYY-MM-DDTHH:MM:SSZ" (UTC), for the records kdpipe writes.
std::string utc_timestamp();

}  // namespace kd
