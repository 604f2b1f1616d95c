#include "lib/core/compute.h"

#include "lib/core/error.h"
#include "lib/core/runtime.h"

namespace kd {

int thread_count(int threads) {
  check<ConfigError>(threads >= 0, "--threads: expected 0 (all cores) or a positive count, got ",
                     threads);
  const int cores = available_cores();
  check<ConfigError>(threads <= cores, "--threads ", threads, ": this process may use ", cores,
                     cores == 1 ? " CPU" : " CPUs", " (0 means all of them)");
  return threads == 0 ? cores : threads;
}

int configure_threads(int threads) {
  const int n = thread_count(threads);
  torch::set_num_threads(n);
  return n;
}

void use_exact_float32() {
  at::globalContext().setAllowTF32CuDNN(false);
  at::globalContext().setAllowTF32CuBLAS(false);
}

void check_device(const torch::Device& device) {
  if (!device.is_cuda()) return;
  check<ConfigError>(torch::cuda::is_available(), "device ", device.str(),
                     ": this LibTorch has no CUDA support or no GPU is visible");
  check<ConfigError>(device.index() < static_cast<int>(torch::cuda::device_count()), "device ",
                     device.str(), ": only ", torch::cuda::device_count(), " GPU(s) are visible");
}

torch::Device resolve_device(const std::string& name) {
  if (name == "cpu") return torch::kCPU;
  if (name == "auto") return torch::cuda::is_available() ? torch::kCUDA : torch::kCPU;
  if (name == "cuda") {
    check<ConfigError>(torch::cuda::is_available(),
                       "--device cuda: this LibTorch has no CUDA support or no GPU is visible");
    return torch::kCUDA;
  }
  throw ConfigError("--device: expected cpu, cuda or auto, got '" + name + "'");
}

}  // namespace kd
