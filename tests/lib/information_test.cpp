#include "lib/metrics/information.h"

#include <gtest/gtest.h>

#include <cmath>

#include "lib/metrics/projection.h"

namespace kd {
namespace {

TEST(MutualInformation, WellSeparatedMeansGiveLogN) {
  torch::manual_seed(0);
  const int64_t n = 600, views = 5;
  const torch::Tensor means = torch::arange(n, torch::kFloat64).unsqueeze(1) * 100.0;
  const torch::Tensor y = means + torch::randn({n, views}, torch::kFloat64);
  const double mi = mutual_information(y);
  EXPECT_NEAR(mi, std::log(static_cast<double>(n)), 0.01);
  EXPECT_LE(mi, std::log(static_cast<double>(n)) + 1e-9);
}

TEST(MutualInformation, IdenticalMeansGiveZero) {
  torch::manual_seed(0);
  const torch::Tensor noise = torch::randn({600, 5}, torch::kFloat64);
  // Every example has the same mean: subtracting each row's mean makes them identical (zero).
  const double mi = mutual_information(noise - noise.mean(1, true));
  EXPECT_NEAR(mi, 0.0, 1e-9);
  // Pure noise with no per-example signal carries little information.
  EXPECT_LT(mutual_information(noise), 0.5);
}

TEST(MutualInformation, TwoClustersGiveLittleMoreThanLogTwo) {
  // Examples that differ only by class, as label smoothing tends to make them. The estimate is
  // log 2 plus the estimator's own positive bias: each μₓ is fitted to the L views it scores.
  torch::manual_seed(4);
  const torch::Tensor cls = (torch::arange(600) < 300).to(torch::kFloat64).unsqueeze(1);
  const torch::Tensor y = cls * 50.0 + torch::randn({600, 5}, torch::kFloat64);
  const double two_clusters = mutual_information(y);
  EXPECT_GT(two_clusters, std::log(2.0) - 0.01);
  EXPECT_LT(two_clusters, std::log(2.0) + 0.15);
  // With more views per example the bias shrinks toward log 2.
  const torch::Tensor many = cls * 50.0 + torch::randn({600, 50}, torch::kFloat64);
  EXPECT_NEAR(mutual_information(many), std::log(2.0), 0.03);
}

TEST(TargetSmoothness, LabelSmoothingGivesEpsilon) {
  const int64_t k = 10;
  const torch::Tensor labels = torch::tensor({0, 3, 9, 2}, torch::kInt64);
  for (double eps : {0.0, 0.1, 0.45}) {
    const torch::Tensor target =
        torch::one_hot(labels, k).to(torch::kFloat64) * (1 - eps) + eps / k;
    EXPECT_NEAR(target_smoothness(target, labels), eps, 1e-12);
  }
  // Uniform targets are as smooth as targets get: γ = 1.
  EXPECT_NEAR(target_smoothness(torch::full({4, k}, 0.1, torch::kFloat64), labels), 1.0, 1e-12);
}

TEST(Stability, OneForIdenticalPredictionsPerClassAndLowerWhenSpread) {
  const torch::Tensor labels = torch::tensor({0, 0, 1, 1}, torch::kInt64);
  const torch::Tensor same = torch::tensor({{0.9, 0.1}, {0.9, 0.1}, {0.2, 0.8}, {0.2, 0.8}});
  EXPECT_DOUBLE_EQ(stability(same, labels), 1.0);
  const torch::Tensor spread = torch::tensor({{1.0, 0.0}, {0.0, 1.0}, {0.2, 0.8}, {0.2, 0.8}});
  // Class 0: centre (0.5, 0.5), each member at squared distance 0.5; class 1: 0. Mean: 0.25.
  EXPECT_NEAR(stability(spread, labels), 0.75, 1e-6);
}

TEST(ProbabilityMoments, BlockByBlockIsTheWholeSplitsFigure) {
  torch::manual_seed(5);
  const torch::Tensor probs = torch::softmax(torch::randn({1000, 7}, torch::kFloat64) * 3, 1);
  const torch::Tensor labels = torch::randint(0, 7, {1000}, torch::kInt64);
  // The definitions, on all rows at once.
  double spread = 0;
  for (int64_t c = 0; c < 7; ++c) {
    const torch::Tensor members = probs.index({labels.eq(c)});
    spread += (members - members.mean(0, true)).square().sum(1).mean().item<double>();
  }
  const double gamma = (1 - probs.gather(1, labels.unsqueeze(1))).mean().item<double>() * 7.0 / 6.0;
  ProbabilityMoments moments(7);
  const std::vector<int64_t> bounds{0, 3, 300, 301, 999, 1000};  // blocks of 3, 297, 1, 698, 1
  for (std::size_t b = 0; b + 1 < bounds.size(); ++b)
    moments.add(probs.slice(0, bounds[b], bounds[b + 1]),
                labels.slice(0, bounds[b], bounds[b + 1]));
  EXPECT_NEAR(moments.stability(), 1 - spread / 7, 1e-12);
  EXPECT_NEAR(moments.smoothness(), gamma, 1e-12);
  EXPECT_NEAR(stability(probs, labels), 1 - spread / 7, 1e-12);
}

}  // namespace
namespace {

TEST(TemplateProjection, TemplatesLandAtTheirPlaceInTheirOwnPlane) {
  torch::manual_seed(1);
  const torch::Tensor weight = torch::randn({5, 7}, torch::kFloat64);
  const torch::Tensor bias = torch::randn({5}, torch::kFloat64);
  const TemplatePlane plane = template_plane(weight, bias, {0, 2, 3});
  // The basis is orthonormal.
  EXPECT_TRUE(torch::allclose(torch::matmul(plane.basis, plane.basis.t()),
                              torch::eye(2, torch::kFloat64), 1e-12, 1e-12));
  // An "activation" equal to a template's weights, whose appended 1 meets the bias slot, lands
  // at that template's place: the first at the origin, distances between them kept.
  auto as_features = [&](int64_t k) {
    return weight[k].unsqueeze(0);  // [1, D]; the appended 1 matches only when bias_k = 1
  };
  torch::Tensor unit_bias = torch::ones({5}, torch::kFloat64);
  const TemplatePlane unit = template_plane(weight, unit_bias, {0, 2, 3});
  const torch::Tensor p0 = project(unit, as_features(0)), p2 = project(unit, as_features(2)),
                      p3 = project(unit, as_features(3));
  EXPECT_LT(p0.abs().max().item<double>(), 1e-12);
  EXPECT_NEAR((p2 - p0).norm().item<double>(), (weight[2] - weight[0]).norm().item<double>(), 1e-9);
  EXPECT_NEAR((p3 - p2).norm().item<double>(), (weight[3] - weight[2]).norm().item<double>(), 1e-9);
  EXPECT_EQ(project(plane, torch::randn({4, 7})).sizes(), (std::vector<int64_t>{4, 2}));
}

}  // namespace
}  // namespace kd
