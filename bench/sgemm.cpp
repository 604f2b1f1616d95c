// Prints this machine's sgemm rate through LibTorch, with the BLAS kernels kdpipe uses, at 1
// thread and at every count in the arguments: "1=160.2,2=305.1" (GFLOP/s), for bench/roofline.sh.
// Usage: kd_bench_sgemm [THREADS...]
#include "bench/sgemm.h"

#include <cstdio>
#include <set>
#include <string>

#include "lib/core/runtime.h"

int main(int argc, char** argv) {
  kd::use_fast_blas_kernels(argv);
  std::set<int> counts = {1};
  for (int i = 1; i < argc; ++i) counts.insert(std::stoi(argv[i]));
  std::string out;
  for (int t : counts) {
    char item[64];
    std::snprintf(item, sizeof item, "%s%d=%.1f", out.empty() ? "" : ",", t,
                  kd::bench::sgemm_gflops(t));
    out += item;
  }
  std::printf("%s\n", out.c_str());
  return 0;
}
