// Stochastic gradient descent with momentum, Nesterov momentum and weight decay, computed in one
// pass over each parameter.
//
// torch::optim::SGD makes five passes a step over every parameter and allocates two temporaries
// of its size; for a student mlp:800-800 that was about a quarter of a training step. This class
// gives the same result bit for bit: on the CPU it applies, element by element, the same
// single-rounded operations as ATen's vectorised kernels (`fma(p, wd, g)`, `buf * m`,
// `buf + g`, `fma(buf, m, g)`, `fma(d, -lr, p)`), and it clears the gradient in the same pass so
// that `zero_grad()` costs nothing. Where ATen's kernels would not fuse the multiply-add (no FMA,
// ATen's "DEFAULT" capability), on other devices and for other dtypes it falls back to ATen's own
// in-place operations, which give the same values as torch::optim::SGD by construction.
#pragma once

#include <torch/torch.h>

#include <vector>

namespace kd {

struct SgdOptions {
  double momentum = 0;
  double dampening = 0;
  double weight_decay = 0;
  bool nesterov = false;
};

class Sgd {
 public:
  Sgd(std::vector<torch::Tensor> params, SgdOptions options);

  /// Clears every gradient (nothing to do for those step() cleared and nothing has changed since).
  void zero_grad();

  /// Updates every parameter that has a gradient with learning rate `lr`.
  void step(double lr);

  /// Whether this process's steps take the fused CPU path (false: ATen's operations).
  static bool fused_on_cpu();

  /// The momentum buffers, one per parameter (undefined before its first step): what a
  /// checkpoint saves and a resumed run puts back.
  std::vector<torch::Tensor>& momentum() { return momentum_; }

 private:
  // A gradient as step() left it, cleared: the same tensor at the same version needs no zeroing.
  struct Cleared {
    const void* tensor = nullptr;
    int64_t version = -1;
    bool holds(const torch::Tensor& grad) const;
  };
  std::vector<torch::Tensor> params_;
  std::vector<torch::Tensor> momentum_;  // undefined until a parameter's first step
  std::vector<Cleared> cleared_;
  SgdOptions options_;
};

}  // namespace kd
