#include "lib/train/sgd.h"

#include <ATen/Parallel.h>
#include <ATen/Version.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <string>

namespace kd {

namespace {

// One step's constants, as ATen converts them: each Scalar is rounded to float once.
struct Step {
  float weight_decay, momentum, keep, neg_lr;  // keep = 1 - dampening
  bool decay, with_momentum, first, nesterov;
};

#if defined(__x86_64__)
// The update of elements [begin, end): the operations of torch::optim::SGD in its order, each
// rounded once as ATen's AVX2/AVX-512 kernels round them (add with alpha is a fused
// multiply-add there), then the gradient cleared.
__attribute__((target("avx2,fma"))) void update_range(float* p, float* g, float* buf, int64_t begin,
                                                      int64_t end, const Step& s) {
  const __m256 wd = _mm256_set1_ps(s.weight_decay), m = _mm256_set1_ps(s.momentum),
               keep = _mm256_set1_ps(s.keep), neg_lr = _mm256_set1_ps(s.neg_lr),
               zero = _mm256_setzero_ps();
  int64_t i = begin;
  for (; i + 8 <= end; i += 8) {
    const __m256 x = _mm256_loadu_ps(p + i);
    __m256 d = _mm256_loadu_ps(g + i);
    if (s.decay) d = _mm256_fmadd_ps(x, wd, d);
    if (s.with_momentum) {
      __m256 b = d;
      if (!s.first) b = _mm256_fmadd_ps(d, keep, _mm256_mul_ps(_mm256_loadu_ps(buf + i), m));
      _mm256_storeu_ps(buf + i, b);
      d = s.nesterov ? _mm256_fmadd_ps(b, m, d) : b;
    }
    _mm256_storeu_ps(p + i, _mm256_fmadd_ps(d, neg_lr, x));
    _mm256_storeu_ps(g + i, zero);
  }
  for (; i < end; ++i) {
    float d = g[i];
    if (s.decay) d = __builtin_fmaf(p[i], s.weight_decay, d);
    if (s.with_momentum) {
      float b = d;
      if (!s.first) b = __builtin_fmaf(d, s.keep, buf[i] * s.momentum);
      buf[i] = b;
      d = s.nesterov ? __builtin_fmaf(b, s.momentum, d) : b;
    }
    p[i] = __builtin_fmaf(d, s.neg_lr, p[i]);
    g[i] = 0;
  }
}
#endif

bool fusable(const torch::Tensor& p) {
  return Sgd::fused_on_cpu() && p.device().is_cpu() && p.scalar_type() == torch::kFloat &&
         p.is_contiguous() && p.grad().is_contiguous() && p.grad().scalar_type() == torch::kFloat;
}

void fused_update(const torch::Tensor& p, torch::Tensor& buf, const SgdOptions& o, double lr) {
#if defined(__x86_64__)
  const Step s{static_cast<float>(o.weight_decay),
               static_cast<float>(o.momentum),
               static_cast<float>(1 - o.dampening),
               static_cast<float>(-1 * lr),
               o.weight_decay != 0,
               o.momentum != 0,
               !buf.defined(),
               o.nesterov};
  if (s.with_momentum && s.first) buf = torch::empty_like(p);
  float* const pp = p.data_ptr<float>();
  float* const gp = p.grad().data_ptr<float>();
  float* const bp = s.with_momentum ? buf.data_ptr<float>() : nullptr;
  at::parallel_for(0, p.numel(), 1 << 15,
                   [&](int64_t begin, int64_t end) { update_range(pp, gp, bp, begin, end, s); });
#else
  (void)p, (void)buf, (void)o, (void)lr;
  TORCH_CHECK(false, "the fused SGD step exists only for x86-64");
#endif
}

// ATen's own operations, in place: the values of torch::optim::SGD by construction.
void aten_update(const torch::Tensor& p, torch::Tensor& buf, const SgdOptions& o, double lr) {
  torch::Tensor d = p.grad();
  if (o.weight_decay != 0) d.add_(p, o.weight_decay);
  if (o.momentum != 0) {
    if (!buf.defined()) {
      buf = d.clone();
    } else {
      buf.mul_(o.momentum).add_(d, 1 - o.dampening);
    }
    d = o.nesterov ? d.add_(buf, o.momentum) : buf;
  }
  p.add_(d, -1 * lr);
  p.grad().zero_();
}

}  // namespace

Sgd::Sgd(std::vector<torch::Tensor> params, SgdOptions options)
    : params_(std::move(params)),
      momentum_(params_.size()),
      cleared_(params_.size()),
      options_(options) {}

bool Sgd::fused_on_cpu() {
  static const bool fused = [] {
#if defined(__x86_64__)
    // ATen fuses add-with-alpha into one rounding only in its AVX2 and AVX-512 kernels.
    const std::string config = at::show_config();
    const bool vectorised = config.find("CPU capability usage: AVX2") != std::string::npos ||
                            config.find("CPU capability usage: AVX512") != std::string::npos;
    return vectorised && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return false;
#endif
  }();
  return fused;
}

void Sgd::zero_grad() {
  for (std::size_t i = 0; i < params_.size(); ++i) {
    torch::Tensor& grad = params_[i].mutable_grad();
    if (grad.defined() && !cleared_[i].holds(grad)) grad.zero_();
  }
}

bool Sgd::Cleared::holds(const torch::Tensor& grad) const {
  return grad.unsafeGetTensorImpl() == tensor && grad._version() == version;
}

void Sgd::step(double lr) {
  torch::NoGradGuard no_grad;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const torch::Tensor& p = params_[i];
    if (!p.grad().defined()) continue;
    if (fusable(p)) {
      fused_update(p, momentum_[i], options_, lr);
    } else {
      aten_update(p, momentum_[i], options_, lr);
    }
    // The fused pass clears the gradient without a tensor operation, so its version counter
    // still shows the value zero_grad() would have to clear; backward() will move it on.
    cleared_[i] = {p.grad().unsafeGetTensorImpl(), p.grad()._version()};
  }
}

}  // namespace kd
