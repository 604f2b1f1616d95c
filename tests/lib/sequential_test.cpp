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

}  // namespace
}  // namespace kd
