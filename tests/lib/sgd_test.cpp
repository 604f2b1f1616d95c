#include "lib/train/sgd.h"

#include <gtest/gtest.h>

#include <tuple>

namespace {

// Parameters whose sizes leave every kind of remainder after 8-, 16- and 32-wide vectors, and
// one large enough that ATen splits it between threads.
std::vector<torch::Tensor> make_params(int64_t seed) {
  torch::manual_seed(seed);
  std::vector<torch::Tensor> params;
  for (int64_t n : {1, 7, 16, 17, 31, 100, 1000, 78400, 100003}) {
    params.push_back(torch::randn({n}).requires_grad_());
  }
  params.push_back(torch::randn({100, 784}).requires_grad_());
  return params;
}

std::vector<torch::Tensor> clones(const std::vector<torch::Tensor>& params) {
  std::vector<torch::Tensor> out;
  for (const torch::Tensor& p : params) out.push_back(p.detach().clone().requires_grad_());
  return out;
}

// Gradients as backward() leaves them: added into the (cleared or undefined) .grad.
void accumulate(std::vector<torch::Tensor>& params, int64_t step) {
  torch::manual_seed(1000 + step);
  for (torch::Tensor& p : params) {
    const torch::Tensor g = torch::randn_like(p) * 0.1;
    if (p.grad().defined()) {
      torch::NoGradGuard no_grad;
      p.mutable_grad() += g;
    } else {
      p.mutable_grad() = g.clone();
    }
  }
}

using Case = std::tuple<double, double, bool, int>;  // momentum, weight decay, nesterov, threads

class SgdTest : public ::testing::TestWithParam<Case> {};

TEST_P(SgdTest, StepsAreBitIdenticalToLibTorchsSgd) {
  const auto [momentum, weight_decay, nesterov, threads] = GetParam();
  const int before = torch::get_num_threads();
  torch::set_num_threads(threads);
  std::vector<torch::Tensor> ours = make_params(3), theirs = clones(ours);
  kd::Sgd sgd(ours, {momentum, 0, weight_decay, nesterov});
  torch::optim::SGD reference(
      theirs, torch::optim::SGDOptions(0.1).momentum(momentum).nesterov(nesterov).weight_decay(
                  weight_decay));
  for (int64_t step = 0; step < 6; ++step) {
    const double lr = 0.1 * (1 + std::cos(step * 0.7)) / 2 + 1e-3;  // a changing, odd rate
    for (auto& group : reference.param_groups()) {
      static_cast<torch::optim::SGDOptions&>(group.options()).lr(lr);
    }
    sgd.zero_grad();
    reference.zero_grad();
    accumulate(ours, step);
    accumulate(theirs, step);
    sgd.step(lr);
    reference.step();
    for (std::size_t i = 0; i < ours.size(); ++i) {
      ASSERT_TRUE(torch::equal(ours[i], theirs[i]))
          << "parameter " << i << " (" << ours[i].numel() << " values) after step " << step + 1
          << ", largest difference " << (ours[i] - theirs[i]).abs().max().item<float>();
    }
  }
  torch::set_num_threads(before);
}

INSTANTIATE_TEST_SUITE_P(Options, SgdTest,
                         ::testing::Values(Case{0.9, 5e-4, true, 1}, Case{0.9, 5e-4, true, 2},
                                           Case{0.9, 0, false, 2}, Case{0.5, 1e-3, false, 1},
                                           Case{0, 1e-4, false, 2}, Case{0, 0, false, 1}));

TEST(Sgd, ZeroGradClearsWhatBackwardAddedAfterAStep) {
  std::vector<torch::Tensor> params = make_params(5);
  kd::Sgd sgd(params, {0.9, 0, 5e-4, true});
  accumulate(params, 0);
  sgd.step(0.1);
  EXPECT_EQ(params[6].grad().abs().sum().item<float>(), 0);  // step() cleared it
  accumulate(params, 1);                                     // a backward without a step
  ASSERT_GT(params[6].grad().abs().sum().item<float>(), 0);
  sgd.zero_grad();
  for (const torch::Tensor& p : params) EXPECT_EQ(p.grad().abs().sum().item<float>(), 0);
}

TEST(Sgd, UsesTheFusedStepWhereLibTorchsKernelsFuse) {
  // On an x86-64 CPU with AVX2 and FMA (every machine kdpipe is benchmarked on) the fast path
  // must be the one taken, or the steps above would only have tested the fallback.
#if defined(__x86_64__)
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
      at::show_config().find("CPU capability usage: DEFAULT") == std::string::npos) {
    EXPECT_TRUE(kd::Sgd::fused_on_cpu());
  }
#endif
}

}  // namespace
