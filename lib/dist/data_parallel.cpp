#include "lib/dist/data_parallel.h"

#include <chrono>

namespace kd {

GradientSum::GradientSum(Communicator& ranks, std::vector<torch::Tensor> parameters,
                         int64_t bucket_elements)
    : ranks_(ranks) {
  // Frozen parameters have no gradient to sum (and take no hook).
  for (torch::Tensor& p : parameters)
    if (p.requires_grad()) params_.push_back(std::move(p));
  const std::size_t n = params_.size();
  bucket_of_.assign(n, 0);
  offset_of_.assign(n, 0);
  arrivals_.assign(n, 0);
  // Reverse order; a bucket holds one dtype and device, and at most bucket_elements (unless a
  // single parameter is larger).
  std::vector<std::vector<std::size_t>> groups;
  int64_t filled = 0;
  for (std::size_t k = n; k-- > 0;) {
    const torch::Tensor& p = params_[k];
    const bool fits = !groups.empty() && filled + p.numel() <= bucket_elements &&
                      params_[groups.back().front()].dtype() == p.dtype() &&
                      params_[groups.back().front()].device() == p.device();
    if (!fits) {
      groups.emplace_back();
      filled = 0;
    }
    groups.back().push_back(k);
    filled += p.numel();
  }
  for (const auto& members : groups) {
    Bucket b;
    b.members = members;
    int64_t size = 0;
    for (const std::size_t k : members) {
      bucket_of_[k] = buckets_.size();
      offset_of_[k] = size;
      size += params_[k].numel();
    }
    b.flat = torch::zeros({size}, params_[members.front()].options().requires_grad(false));
    buckets_.push_back(std::move(b));
  }
  for (std::size_t k = 0; k < n; ++k) {
    hooks_.push_back(
        params_[k].register_hook([this, k](const torch::Tensor& grad) { on_gradient(k, grad); }));
  }
  reset_step();
}

GradientSum::~GradientSum() {
  for (std::size_t k = 0; k < hooks_.size(); ++k) params_[k].remove_hook(hooks_[k]);
}

torch::Tensor GradientSum::slot(std::size_t i) const {
  const Bucket& b = buckets_[bucket_of_[i]];
  return b.flat.slice(0, offset_of_[i], offset_of_[i] + params_[i].numel())
      .view(params_[i].sizes());
}

void GradientSum::reset_step() {
  std::fill(arrivals_.begin(), arrivals_.end(), 0);
  for (Bucket& b : buckets_) {
    b.missing = b.members.size();
    b.pending.reset();
  }
  next_launch_ = 0;
  late_ = false;
}

void GradientSum::on_gradient(std::size_t i, const torch::Tensor& grad) {
  ++arrivals_[i];
  if (!overlap_) return;  // probing, or launching after backward: finish() reads the grads
  Bucket& b = buckets_[bucket_of_[i]];
  if (arrivals_[i] > 1) {
    // A second contribution: add it while the bucket waits, or note that it came too late.
    if (b.pending)
      late_ = true;
    else
      slot(i).add_(grad);
    return;
  }
  torch::NoGradGuard no_grad;
  slot(i).copy_(grad);
  if (--b.missing == 0) launch_ready();
}

void GradientSum::launch_ready() {
  // In bucket order on every rank, whatever order the gradients arrive in.
  while (next_launch_ < buckets_.size() && buckets_[next_launch_].missing == 0) {
    Bucket& b = buckets_[next_launch_++];
    b.pending = ranks_.start_sum(b.flat);
  }
}

void GradientSum::finish() {
  torch::NoGradGuard no_grad;
  check<TrainingError>(!late_, "a parameter's gradient arrived twice in one step after its sum ",
                       "had started (a model whose parameters are used a varying number of ",
                       "times per step); data-parallel training cannot average it");
  for (std::size_t i = 0; i < params_.size(); ++i) {
    if (overlap_ && arrivals_[i] > 0) continue;  // already in its bucket
    const torch::Tensor& g = params_[i].grad();
    if (g.defined())
      slot(i).copy_(g);
    else
      slot(i).zero_();
  }
  for (Bucket& b : buckets_) b.missing = 0;
  launch_ready();
  const auto start = std::chrono::steady_clock::now();
  for (Bucket& b : buckets_) b.pending->wait();
  waited_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (std::size_t i = 0; i < params_.size(); ++i) {
    torch::Tensor& g = params_[i].mutable_grad();
    if (g.defined())
      g.copy_(slot(i));
    else
      g = slot(i).clone();
  }
  if (!probed_) {
    // Overlap from the next step on only if every rank saw every gradient arrive exactly once.
    bool once = true;
    for (const int a : arrivals_) once = once && a == 1;
    const torch::Tensor agree = torch::tensor({once ? 1.0 : 0.0}, torch::kFloat64);
    ranks_.sum(agree);
    overlap_ = agree.item<double>() == ranks_.size();
    probed_ = true;
  }
  reset_step();
}

void broadcast_tensors(Communicator& ranks, const std::vector<torch::Tensor>& tensors, int root) {
  torch::NoGradGuard no_grad;
  for (const torch::Tensor& t : tensors) {
    if (t.is_contiguous()) {
      ranks.broadcast(t, root);
    } else {
      const torch::Tensor c = t.contiguous();
      ranks.broadcast(c, root);
      t.copy_(c);
    }
  }
}

void average_floating(Communicator& ranks, const std::vector<torch::Tensor>& tensors) {
  torch::NoGradGuard no_grad;
  for (const torch::Tensor& t : tensors) {
    if (!t.is_floating_point()) continue;
    const torch::Tensor c = t.contiguous();
    ranks.sum(c);
    t.copy_(c.div_(ranks.size()));
  }
}

}  // namespace kd
