#include "lib/losses/losses.h"

#include <gtest/gtest.h>

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
  const double by_hand = -(std::log(std::exp(2.0) / (std::exp(2.0) + 1 + std::exp(-1.0))) +
                           std::log(std::exp(0.5) / (2 * std::exp(0.5) + std::exp(3.0)))) /
                         2;
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
namespace {

double kl_by_hand(const torch::Tensor& p, const torch::Tensor& log_q) {
  return (p * (p.log() - log_q)).sum(1).mean().item<double>();
}

TEST(DistillationLoss, MatchesClosedForm) {
  torch::manual_seed(4);
  const torch::Tensor zs = torch::randn({8, 5}, torch::kFloat64);
  const torch::Tensor zt = torch::randn({8, 5}, torch::kFloat64) * 3;
  const torch::Tensor y = torch::randint(5, {8}, torch::kInt64);
  for (double t : {1.0, 2.0, 4.0}) {
    for (double a : {0.0, 0.3, 1.0}) {
      const torch::Tensor p = torch::softmax(zt / t, 1);
      const double kl = kl_by_hand(p, torch::log_softmax(zs / t, 1));
      const double ce = smoothed_cross_entropy(zs, y, 0.0).item<double>();
      const double want = (1 - a) * ce + a * t * t * kl;
      EXPECT_NEAR(distillation_loss(zs, zt, y, t, a).item<double>(), want, 1e-10) << t << " " << a;
    }
  }
}

TEST(DistillationLoss, AlphaZeroIsCrossEntropy) {
  torch::manual_seed(5);
  const torch::Tensor zs = torch::randn({6, 4}, torch::kFloat64);
  const torch::Tensor y = torch::randint(4, {6}, torch::kInt64);
  EXPECT_NEAR(
      distillation_loss(zs, torch::randn({6, 4}, torch::kFloat64), y, 8.0, 0.0).item<double>(),
      smoothed_cross_entropy(zs, y, 0.0).item<double>(), 1e-12);
}

TEST(DistillationLoss, TSquaredKeepsGradientScaleAndStudentTemperatureOneIsMuller) {
  torch::manual_seed(6);
  const torch::Tensor zt = torch::randn({64, 10}, torch::kFloat64);
  const torch::Tensor y = torch::randint(10, {64}, torch::kInt64);
  // Hinton et al.: the soft targets' gradients shrink as 1/T²; the T² factor keeps their size.
  std::vector<double> norms;
  for (double t : {4.0, 8.0, 16.0}) {
    torch::Tensor zs = torch::randn({64, 10}, torch::kFloat64).mul(0.1).requires_grad_(true);
    distillation_loss(zs, zt, y, t, 1.0).backward();
    norms.push_back(zs.grad().norm().item<double>());
  }
  EXPECT_NEAR(norms[1] / norms[0], 1.0, 0.15);
  EXPECT_NEAR(norms[2] / norms[0], 1.0, 0.15);
  // Student temperature 1: KL(softmax(z_t/T) ‖ softmax(z_s)), no T² factor.
  const torch::Tensor zs = torch::randn({64, 10}, torch::kFloat64);
  const double kl = kl_by_hand(torch::softmax(zt / 4.0, 1), torch::log_softmax(zs, 1));
  EXPECT_NEAR(distillation_loss(zs, zt, y, 4.0, 1.0, 1.0).item<double>(), kl, 1e-10);
}

}  // namespace
namespace {

TEST(DistillationLoss, FiniteWhenTheTeachersSoftmaxUnderflowsToZero) {
  const torch::Tensor zt = torch::tensor({{500.0f, -500.0f, 0.0f}});
  torch::Tensor zs = torch::zeros({1, 3}).requires_grad_(true);
  const torch::Tensor loss = distillation_loss(zs, zt, torch::tensor({0}, torch::kInt64), 1.0, 1.0);
  loss.backward();
  EXPECT_TRUE(std::isfinite(loss.item<double>()));
  EXPECT_NEAR(loss.item<double>(), std::log(3.0), 1e-5);  // KL(one-hot ‖ uniform)
  EXPECT_TRUE(torch::isfinite(zs.grad()).all().item<bool>());
}

}  // namespace
}  // namespace kd
