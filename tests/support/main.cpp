// The test programs' main: the BLAS kernels kdpipe's own commands use (lib/core/runtime.h), so
// that what a test computes in its own process equals what the kdpipe binary computes.
#include <gtest/gtest.h>

#include "lib/core/runtime.h"

int main(int argc, char** argv) {
  kd::use_fast_blas_kernels(argv);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
