// The verdict's statistics against values computed independently: scipy (Debian's python3-scipy)
// and a textbook McNemar example.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "lib/core/error.h"
#include "lib/metrics/statistics.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace kd {
namespace {

const std::vector<double> kA = {0.861, 0.866, 0.858, 0.870, 0.863};
const std::vector<double> kB = {0.855, 0.861, 0.857, 0.862, 0.860};
const std::vector<double> kC = {0.850, 0.871, 0.845, 0.869};

// Per-example correctness of two classifiers on 600 examples: 70 only the first gets right,
// 52 only the second.
std::pair<torch::Tensor, torch::Tensor> two_classifiers() {
  torch::Tensor first = torch::zeros({600}, torch::kBool), second = torch::zeros({600}, torch::kBool);
  first.slice(0, 0, 400).fill_(true), second.slice(0, 0, 400).fill_(true);  // both right
  first.slice(0, 400, 470).fill_(true);                                      // only the first
  second.slice(0, 470, 522).fill_(true);                                     // only the second
  return {first, second};
}

nlohmann::json scipy_reference() {
  const auto [first, second] = two_classifiers();
  auto as_ints = [](const torch::Tensor& t) {
    const torch::Tensor v = t.to(torch::kInt32).contiguous();
    return std::vector<int>(v.data_ptr<int>(), v.data_ptr<int>() + v.numel());
  };
  const nlohmann::json cases = {{"paired", {kA, kB}},
                                {"welch", {kA, kC}},
                                {"mcnemar", {{3, 11}, {70, 52}, {0, 5}, {10, 10}}},
                                {"bootstrap", {as_ints(first), as_ints(second)}}};
  testing::TempDir dir;
  std::ofstream(dir / "cases.json") << cases.dump();
  const testing::ProcessResult py = testing::run_command(
      "/usr/bin/python3 " + (testing::source_dir() / "tests/lib/reference_statistics.py").string() +
      " < " + (dir / "cases.json").string());
  EXPECT_EQ(py.status, 0) << "needs Debian's python3-scipy (bash .ci/setup installs it): "
                          << py.output;
  return py.status == 0 ? nlohmann::json::parse(py.output) : nlohmann::json();
}

TEST(Statistics, AgreeWithScipy) {
  const nlohmann::json ref = scipy_reference();
  ASSERT_FALSE(ref.is_null());
  const Difference paired = paired_difference(kA, kB);
  EXPECT_NEAR(paired.estimate, ref["paired"]["estimate"].get<double>(), 1e-12);
  EXPECT_NEAR(paired.low, ref["paired"]["interval"][0].get<double>(), 1e-9);
  EXPECT_NEAR(paired.high, ref["paired"]["interval"][1].get<double>(), 1e-9);
  EXPECT_NEAR(paired.p_value, ref["paired"]["p"].get<double>(), 1e-9);
  EXPECT_EQ(paired.df, 4);
  const Difference welch = welch_difference(kA, kC);
  EXPECT_NEAR(welch.df, ref["welch"]["df"].get<double>(), 1e-9);
  EXPECT_NEAR(welch.low, ref["welch"]["interval"][0].get<double>(), 1e-9);
  EXPECT_NEAR(welch.high, ref["welch"]["interval"][1].get<double>(), 1e-9);
  EXPECT_NEAR(welch.p_value, ref["welch"]["p"].get<double>(), 1e-9);
  const std::vector<std::pair<int64_t, int64_t>> counts = {{3, 11}, {70, 52}, {0, 5}, {10, 10}};
  for (std::size_t i = 0; i < counts.size(); ++i) {
    EXPECT_NEAR(mcnemar_exact_p(counts[i].first, counts[i].second),
                ref["mcnemar"][i].get<double>(), 1e-12)
        << counts[i].first << " vs " << counts[i].second;
  }
  // The bootstrap interval's ends move by about sd / sqrt(resamples) between resamplings; with
  // 20,000 (scipy) and 20,000 (here) resamples of 600 examples, 0.003 is several of those.
  const auto [first, second] = two_classifiers();
  const Difference boot = paired_accuracy_difference(first, second, 20000, 1);
  EXPECT_NEAR(boot.estimate, 18.0 / 600, 1e-12);
  EXPECT_NEAR(boot.low, ref["bootstrap"][0].get<double>(), 0.003);
  EXPECT_NEAR(boot.high, ref["bootstrap"][1].get<double>(), 0.003);
  EXPECT_NEAR(boot.p_value, ref["mcnemar"][1].get<double>(), 1e-12);
}

TEST(Statistics, TextbookMcNemarAndEdgeCases) {
  // b = 3, c = 11: p = 2 * P[Binomial(14, 1/2) <= 3] = 2 * 470 / 16384.
  EXPECT_NEAR(mcnemar_exact_p(3, 11), 2.0 * 470 / 16384, 1e-12);
  EXPECT_EQ(mcnemar_exact_p(0, 0), 1.0);
  EXPECT_EQ(mcnemar_exact_p(7, 7), 1.0);
  // One pair: an estimate, no interval, and so no claim.
  const Difference one = paired_difference({0.7634}, {0.7632});
  EXPECT_NEAR(one.estimate, 0.0002, 1e-12);
  EXPECT_TRUE(std::isnan(one.low) && std::isnan(one.high));
  EXPECT_FALSE(one.excludes_zero());
  // Identical groups: zero difference, an interval around it, no claim.
  const Difference same = paired_difference(kA, kA);
  EXPECT_EQ(same.estimate, 0);
  EXPECT_FALSE(same.excludes_zero());
  // A clear shift: every pair differs by about one point.
  std::vector<double> shifted = kA;
  for (double& x : shifted) x -= 0.01;
  shifted[0] -= 0.001;
  EXPECT_TRUE(paired_difference(kA, shifted).excludes_zero());
  EXPECT_GT(seeds_to_resolve(0.001, 0.002), 10);
  EXPECT_EQ(seeds_to_resolve(0.0, 0.002), 0);
  EXPECT_THROW(paired_difference(kA, kC), ConfigError);
}

}  // namespace
}  // namespace kd
