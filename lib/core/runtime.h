// Process-wide compute settings: LibTorch's thread count and the device a command runs on.
#pragma once

#include <torch/torch.h>

#include <string>

namespace kd {

/// Number of CPUs this process may run on: its affinity mask, so a cluster job's allocation or a
/// `taskset`, not the whole machine.
int available_cores();

/// Sets LibTorch's intra-op threads (0 means all cores); returns the number set.
int configure_threads(int threads);

/// "cpu", "cuda" or "auto" (CUDA when LibTorch has it and a GPU is present). ConfigError for
/// anything else, or for "cuda" without a usable GPU.
torch::Device resolve_device(const std::string& name);

/// kdpipe's version string, recorded in every file it writes.
const char* version();

/// The current time as "YYYY-MM-DDTHH:MM:SSZ" (UTC), for the records kdpipe writes.
std::string utc_timestamp();

}  // namespace kd
