#include <gtest/gtest.h>

#include "lib/losses/losses.h"

namespace kd {
namespace {

TEST(SmoothedCrossEntropy, MatchesClosedForm) {
  torch::manual_seed(3);
  const torch::Tensor logits = torch::randn({16, 7}, torch::kFloat64);
  const torch::Tensor labels = torch::randint(7, {16}, torch::kInt64);
  for (double eps : {0.0, 0.1, 0.3, 0.75}) {
    const torch::Tensor target =
        torch::one_hot(labels, 7).to(torch::kFloat64) * (1 - eps) + eps / 7.0;
    const double want = -(target * torch::log_softmax(logits, 1)).sum(1).mean().item<double>();
    EXPECT_NEAR(smoothed_cross_entropy(logits, labels, eps).item<double>(), want, 1e-12) << eps;
    EXPECT_NEAR(soft_cross_entropy(logits, target).item<double>(), want, 1e-12) << eps;
  }
}

TEST(SmoothedCrossEntropy, ZeroSmoothingIsCrossEntropy) {
  const torch::Tensor logits = torch::tensor({{2.0, 0.0, -1.0}, {0.5, 0.5, 3.0}}, torch::kFloat64);
  const torch::Tensor labels = torch::tensor({0, 1}, torch::kInt64);
  const double by_hand =
      -(std::log(std::exp(2.0) / (std::exp(2.0) + 1 + std::exp(-1.0))) +
        std::log(std::exp(0.5) / (2 * std::exp(0.5) + std::exp(3.0)))) / 2;
  EXPECT_NEAR(smoothed_cross_entropy(logits, labels, 0.0).item<double>(), by_hand, 1e-12);
}

TEST(SmoothedCrossEntropy, GradientPullsTowardSmoothedTarget) {
  // At the optimum the softmax equals the smoothed target, so the gradient there is zero.
  const double eps = 0.2;
  const torch::Tensor target = torch::tensor({{1 - eps + eps / 4, eps / 4, eps / 4, eps / 4}});
  torch::Tensor logits = target.log().clone().requires_grad_(true);
  smoothed_cross_entropy(logits, torch::tensor({0}, torch::kInt64), eps).backward();
  EXPECT_LT(logits.grad().abs().max().item<double>(), 1e-6);
}

}  // namespace
}  // namespace kd
