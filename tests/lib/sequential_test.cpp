// The sequential rule, by simulation (no training): paired differences of N(delta, sigma^2) per
// seed, sigma = 0.3 points, seeds added one at a time from 3 to 10, stopping at the first decided
// look. 20,000 simulated experiments per case, from fixed seeds.
#include "lib/metrics/sequential.h"

#include <gtest/gtest.h>

#include <boost/math/distributions/students_t.hpp>
#include <cmath>
#include <random>

namespace kd {
namespace {

constexpr int kExperiments = 20000;
constexpr double kSigma = 0.3;

struct Outcomes {
  double differs = 0, equivalent = 0, undecided = 0;
};

Outcomes simulate(double delta, const SequentialPlan& plan, std::uint64_t seed) {
  std::mt19937_64 generator(seed);
  std::normal_distribution<double> noise(delta, kSigma);
  Outcomes out;
  for (int e = 0; e < kExperiments; ++e) {
    std::vector<double> d;
    while (static_cast<int64_t>(d.size()) < plan.first_look) d.push_back(noise(generator));
    for (;;) {
      const SequentialLook look = sequential_look(d, plan);
      if (look.decision != Decision::undecided || look.last) {
        (look.decision == Decision::differs      ? out.differs
         : look.decision == Decision::equivalent ? out.equivalent
                                                 : out.undecided) += 1.0 / kExperiments;
        break;
      }
      d.push_back(noise(generator));
    }
  }
  return out;
}

// A 95% t interval after every seed, stopped at the first that excludes 0: what the rule replaces.
double naive_false_differs(const SequentialPlan& plan, std::uint64_t seed) {
  std::mt19937_64 generator(seed);
  std::normal_distribution<double> noise(0.0, kSigma);
  int claims = 0;
  for (int e = 0; e < kExperiments; ++e) {
    double sum = 0, squares = 0;
    for (int64_t n = 1; n <= plan.max_pairs; ++n) {
      const double x = noise(generator);
      sum += x, squares += x * x;
      if (n < plan.first_look) continue;
      const double mean = sum / n, sd = std::sqrt((squares - n * mean * mean) / (n - 1));
      const boost::math::students_t t(static_cast<double>(n - 1));
      if (std::fabs(mean) / (sd / std::sqrt(n)) >
          boost::math::quantile(boost::math::complement(t, 0.025))) {
        ++claims;
        break;
      }
    }
  }
  return static_cast<double>(claims) / kExperiments;
}

TEST(Sequential, NoDifferenceIsRarelyCalledOneWhileLookingAfterEverySeed) {
  const SequentialPlan plan;  // 3 to 10 seeds, precision 0.3, alpha 0.05
  const double nominal = pocock_nominal_level(plan);
  EXPECT_GT(nominal, plan.alpha / 8);  // above Bonferroni's: the looks are correlated
  EXPECT_LT(nominal, plan.alpha);
  const Outcomes o = simulate(0.0, plan, 1);
  RecordProperty("false_differs", std::to_string(o.differs));
  EXPECT_LE(o.differs, 0.055);
  const double naive = naive_false_differs(plan, 1);
  RecordProperty("naive_false_differs", std::to_string(naive));
  EXPECT_GT(naive, 0.08);
}

TEST(Sequential, ADifferenceOfThePrecisionIsRarelyCalledEquivalent) {
  const SequentialPlan plan;
  EXPECT_LE(simulate(plan.precision, plan, 2).equivalent, 0.05);
  EXPECT_LE(simulate(-plan.precision, plan, 3).equivalent, 0.05);
}

TEST(Sequential, TwiceThePrecisionIsFoundWithinTheSeeds) {
  const SequentialPlan plan;
  EXPECT_GE(simulate(2 * plan.precision, plan, 4).differs, 0.80);
}

// Identical teachers: every difference 0, no spread: equivalent, with a finite interval.
TEST(Sequential, IdenticalResultsAreEquivalentNotNaN) {
  const SequentialLook look = sequential_look({0, 0, 0}, SequentialPlan());
  EXPECT_EQ(look.decision, Decision::equivalent);
  EXPECT_EQ(look.difference.low, 0.0);
  EXPECT_EQ(look.difference.high, 0.0);
  EXPECT_EQ(to_string(look.decision), "equivalent");
  EXPECT_THROW(sequential_look({0.1, 0.2}, SequentialPlan()), ConfigError);
  SequentialPlan bad;
  bad.precision = 0;
  EXPECT_THROW(bad.validate(), ConfigError);
}

// Three teachers' students over shared seeds (each arm's spread chosen so that a pair's differences
// have sigma = 0.3), every pair compared, looked at after every seed until each pair is decided.
// Returns the share of experiments with a false "differs" among the pairs whose true difference
// is 0, and the share in which pair (0, 1) is found to differ.
std::pair<double, double> simulate_family(const std::array<double, 3>& means, bool holm,
                                          std::uint64_t seed) {
  const SequentialPlan plan;
  std::mt19937_64 generator(seed);
  std::normal_distribution<double> noise(0.0, kSigma / std::sqrt(2.0));
  const std::array<std::pair<int, int>, 3> pairs = {{{0, 1}, {0, 2}, {1, 2}}};
  double false_claims = 0, found01 = 0;
  for (int e = 0; e < kExperiments; ++e) {
    std::array<std::vector<double>, 3> arms;
    std::vector<Decision> decided(3, Decision::undecided);
    for (int64_t n = 1; n <= plan.max_pairs; ++n) {
      for (int a = 0; a < 3; ++a) arms[a].push_back(means[a] + noise(generator));
      if (n < plan.first_look) continue;
      std::vector<std::vector<double>> d;
      for (const auto& [a, b] : pairs) {
        d.emplace_back();
        for (int64_t i = 0; i < n; ++i) d.back().push_back(arms[a][i] - arms[b][i]);
      }
      if (holm) {
        const auto looks = family_look(d, decided, plan);
        for (std::size_t k = 0; k < 3; ++k)
          if (looks[k]) decided[k] = looks[k]->decision;
      } else {
        for (std::size_t k = 0; k < 3; ++k)
          if (decided[k] == Decision::undecided) decided[k] = sequential_look(d[k], plan).decision;
      }
    }
    bool false_claim = false;
    for (std::size_t k = 0; k < 3; ++k) {
      const bool truly_equal = means[pairs[k].first] == means[pairs[k].second];
      false_claim |= truly_equal && decided[k] == Decision::differs;
    }
    false_claims += false_claim;
    found01 += decided[0] == Decision::differs;
  }
  return {false_claims / kExperiments, found01 / kExperiments};
}

// With three teachers, three pairs: each pair at 5% would claim some false difference far more
// often; Holm's step-down over the boundaries keeps the family at 5%, and still finds a real one.
TEST(Sequential, HolmKeepsAFamilyOfComparisonsAtItsLevel) {
  const auto [holm, unused] = simulate_family({0, 0, 0}, true, 5);
  const auto [each, unused2] = simulate_family({0, 0, 0}, false, 5);
  RecordProperty("family_false_differs", std::to_string(holm));
  RecordProperty("unadjusted_false_differs", std::to_string(each));
  EXPECT_LE(holm, 0.055);
  EXPECT_GT(each, 0.08);
  // One teacher better by twice the precision: found, while the two equal ones stay equal.
  const auto [false_claims, found] = simulate_family({0.6, 0, 0}, true, 6);
  EXPECT_LE(false_claims, 0.055);
  EXPECT_GE(found, 0.80);
  EXPECT_THROW(family_look({{0, 0, 0}}, {}, SequentialPlan()), ConfigError);
}

}  // namespace
}  // namespace kd
