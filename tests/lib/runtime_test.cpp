#include "lib/core/runtime.h"

#include <gtest/gtest.h>
#include <sched.h>

namespace kd {
namespace {

// `--threads 0` means every core the process may use: on a cluster node that is the job's
// allocation, not the node.
TEST(Runtime, AvailableCoresFollowsTheAffinityMask) {
  cpu_set_t saved;
  ASSERT_EQ(::sched_getaffinity(0, sizeof saved, &saved), 0);
  EXPECT_EQ(available_cores(), CPU_COUNT(&saved));
  int first = 0;
  while (!CPU_ISSET(first, &saved)) ++first;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(first, &one);
  ASSERT_EQ(::sched_setaffinity(0, sizeof one, &one), 0);
  const int restricted = available_cores();
  ASSERT_EQ(::sched_setaffinity(0, sizeof saved, &saved), 0);
  EXPECT_EQ(restricted, 1);
}

// The decision behind kdpipe's re-run with better BLAS kernels, for every case: whichever CPU
// this test runs on, a wrong choice fails it.
TEST(Blas, GenericKernelsAreReplacedOnlyWhereTheCpuAllowsBetter) {
  const CpuFeatures avx512{true, true}, avx2{false, true}, plain{false, false};
  EXPECT_STREQ(better_blas_kernels("Prescott", false, avx512), "SkylakeX");
  EXPECT_STREQ(better_blas_kernels("Prescott", false, avx2), "Haswell");
  EXPECT_EQ(better_blas_kernels("Prescott", false, plain), nullptr);  // generic is right
  EXPECT_EQ(better_blas_kernels("Prescott", true, avx512), nullptr);  // the user's choice
  EXPECT_EQ(better_blas_kernels("Haswell", false, avx512), nullptr);  // OpenBLAS knew the CPU
  EXPECT_EQ(better_blas_kernels("SkylakeX", false, avx512), nullptr);
  EXPECT_EQ(better_blas_kernels(nullptr, false, avx512), nullptr);  // not OpenBLAS
}

}  // namespace
}  // namespace kd
