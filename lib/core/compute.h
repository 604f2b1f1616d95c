// Process-wide compute settings: LibTorch's thread count, the device a command runs on, and
// float32 exactness on GPUs. The CLI sets them at the edge; library calls only check them.
#pragma once

#include <torch/torch.h>

#include <string>

namespace kd {

/// Sets LibTorch's intra-op threads (0 means all cores); returns the number set. ConfigError for
/// a negative count or one above the CPUs available (thousands of threads help nothing).
int configure_threads(int threads);

/// Checks `threads` as a --threads value (0: all cores) and returns the count it means.
int thread_count(int threads);

/// Turns TF32 off for cuDNN convolutions and CUDA matmuls, process-wide: kdpipe's logits, caches
/// and metrics are float32 ones on every GPU. The CLI calls it once at start-up.
void use_exact_float32();

/// ConfigError naming the device when this build or machine cannot run on it (a CUDA device in
/// a CPU-only LibTorch, no GPU visible, or an index past the GPUs present).
void check_device(const torch::Device& device);

/// "cpu", "cuda" or "auto" (CUDA when LibTorch has it and a GPU is present). ConfigError for
/// anything else, or for "cuda" without a usable GPU.
torch::Device resolve_device(const std::string& name);

}  // namespace kd
