// This machine's sgemm rate through LibTorch (1024x1024 float32 matrices): the bound the
// benchmarks compare with. Measured in the calling program, so with its BLAS kernels.
#pragma once

#include <torch/torch.h>

#include <chrono>

namespace kd::bench {

/// GFLOP/s of 1024² sgemm at `threads` LibTorch threads, over about 1.5 s.
inline double sgemm_gflops(int threads) {
  using Clock = std::chrono::steady_clock;
  torch::set_num_threads(threads);
  const torch::Tensor a = torch::randn({1024, 1024}), b = torch::randn({1024, 1024});
  torch::Tensor c = torch::mm(a, b);
  int64_t iters = 0;
  const auto start = Clock::now();
  double seconds = 0;
  while ((seconds = std::chrono::duration<double>(Clock::now() - start).count()) < 1.5) {
    c = torch::mm(a, b);
    ++iters;
  }
  return 2.0 * 1024 * 1024 * 1024 * iters / seconds / 1e9;
}

}  // namespace kd::bench
