// What judge concludes from students' results, without training: the temperature chosen on
// validation, never test; decisions replayed look by look; seeds asked only for open comparisons.
#include "pipelines/judge/judgement.h"

#include <gtest/gtest.h>

namespace kd {
namespace {

// Seeds 0 … n-1 with test accuracy base + step * seed (and validation val).
SeedScores arm(int n, double base, double step = 0.5, double val = 80) {
  SeedScores out;
  for (int s = 0; s < n; ++s) out[static_cast<std::uint64_t>(s)] = {val, base + step * s, 0.5};
  return out;
}

TEST(Judgement, ChoosesEachTeachersTemperatureOnValidationNotTest) {
  JudgeEvidence e;
  // T = 2: better on test, worse on validation; T = 4 wins on validation.
  e.distilled.push_back({{2.0, arm(3, 90, 0.5, 70)}, {4.0, arm(3, 80, 0.5, 75)}});
  e.alone = arm(3, 70);
  const Judgement j = judge(e, {2, 4}, SequentialPlan());
  ASSERT_EQ(j.temperature.size(), 1U);
  EXPECT_EQ(j.temperature[0], 4.0);
  // A tie keeps the lower temperature.
  e.distilled[0][2.0] = arm(3, 80, 0.5, 75);
  EXPECT_EQ(judge(e, {2, 4}, SequentialPlan()).temperature[0], 2.0);
  // Until every first-round student is in, nothing is judged.
  e.distilled[0][4.0].erase(2);
  EXPECT_TRUE(judge(e, {2, 4}, SequentialPlan()).temperature.empty());
  EXPECT_TRUE(judge(e, {2, 4}, SequentialPlan()).open());
}

TEST(Judgement, ReplaysLooksAndAsksSeedsOnlyForOpenComparisons) {
  JudgeEvidence e;
  e.distilled.push_back({{1.0, arm(3, 85)}});
  e.distilled.push_back({{1.0, arm(3, 85)}});  // identical: zero differences
  e.alone = arm(3, 85.3, 0.4);                 // close to the teachers, but not the same
  const Judgement j = judge(e, {1}, SequentialPlan());
  ASSERT_EQ(j.comparisons.size(), 3U);
  EXPECT_TRUE(j.comparisons[0].b.has_value());
  EXPECT_EQ(j.comparisons[0].decision, Decision::equivalent);  // not NaN, not "differs"
  EXPECT_EQ(j.comparisons[0].seeds, 3);
  EXPECT_EQ(j.looked, 3);
  // Against training alone both are open: both teachers and the alone arm need seed 3.
  EXPECT_EQ(j.comparisons[1].decision, Decision::undecided);
  EXPECT_EQ(j.teachers_needed(), (std::vector<std::size_t>{0, 1}));
  EXPECT_TRUE(j.alone_needed());

  // Seeds up to 10 that leave the difference clear: the decided pair keeps its first look.
  e.distilled[0][1.0] = arm(10, 85);
  e.distilled[1][1.0] = arm(10, 85);
  e.alone = arm(10, 80, 0.5);
  const Judgement later = judge(e, {1}, SequentialPlan());
  EXPECT_EQ(later.comparisons[0].seeds, 3);
  EXPECT_EQ(later.comparisons[1].decision, Decision::differs);
  EXPECT_GT(later.comparisons[1].difference.estimate, 0);
  EXPECT_FALSE(later.open());
}

TEST(Judgement, UndecidedAtMaxSeedsStaysUndecided) {
  JudgeEvidence e;
  SeedScores noisy;
  const double swings[] = {3, -2, 1, -3, 2, -1, 3, -2, 2, -3};
  for (int s = 0; s < 10; ++s) noisy[static_cast<std::uint64_t>(s)] = {80, 80 + swings[s], 0};
  e.distilled.push_back({{1.0, noisy}});
  e.alone = arm(10, 80, 0);
  SequentialPlan plan;
  const Judgement j = judge(e, {1}, plan);
  EXPECT_EQ(j.looked, plan.max_pairs);
  EXPECT_EQ(j.comparisons[0].decision, Decision::undecided);
  EXPECT_EQ(j.comparisons[0].seeds, plan.max_pairs);
}

}  // namespace
}  // namespace kd
