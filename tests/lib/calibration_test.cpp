#include "lib/metrics/calibration.h"

#include <gtest/gtest.h>

#include <cmath>

namespace kd {
namespace {

// Logits whose softmax puts probability p on class 0 of two classes.
torch::Tensor two_class(double p) {
  return torch::tensor({std::log(p / (1 - p)), 0.0}, torch::kFloat64);
}

TEST(Calibration, HandComputedEce) {
  // Confidences 0.85, 0.85 (one right, one wrong), 0.62 (right), 0.55 (wrong).
  const torch::Tensor logits =
      torch::stack({two_class(0.85), two_class(0.85), two_class(0.62), two_class(0.55)});
  const torch::Tensor labels = torch::tensor({0, 1, 0, 1}, torch::kInt64);
  const CalibrationReport r = calibration(logits, labels, 1.0, 10);
  EXPECT_EQ(r.count, 4);
  EXPECT_DOUBLE_EQ(r.accuracy, 0.5);
  // Bin (0.8, 0.9]: accuracy 0.5, confidence 0.85, weight 2/4. Bin (0.6, 0.7]: accuracy 1,
  // confidence 0.62, weight 1/4. Bin (0.5, 0.6]: accuracy 0, confidence 0.55, weight 1/4.
  EXPECT_NEAR(r.ece, 0.5 * 0.35 + 0.25 * 0.38 + 0.25 * 0.55, 1e-9);
  ASSERT_EQ(r.bins.size(), 10u);
  EXPECT_EQ(r.bins[8].count, 2);
  EXPECT_NEAR(r.bins[8].confidence, 0.85, 1e-9);
  EXPECT_NEAR(r.bins[8].accuracy, 0.5, 1e-9);
  EXPECT_EQ(r.bins[6].count, 1);
  EXPECT_EQ(r.bins[5].count, 1);
  EXPECT_EQ(r.bins[5].accuracy, 0.0);
  const double nll = -(std::log(0.85) + std::log(0.15) + std::log(0.62) + std::log(0.45)) / 4;
  EXPECT_NEAR(r.nll, nll, 1e-9);
}

TEST(Calibration, MeterAccumulatesLikeOneBatch) {
  torch::manual_seed(1);
  const torch::Tensor logits = torch::randn({200, 5}) * 3;
  const torch::Tensor labels = torch::randint(5, {200}, torch::kInt64);
  CalibrationMeter meter;
  meter.add(logits.slice(0, 0, 73), labels.slice(0, 0, 73));
  meter.add(logits.slice(0, 73), labels.slice(0, 73));
  const CalibrationReport split = meter.report(), whole = calibration(logits, labels);
  EXPECT_NEAR(split.ece, whole.ece, 1e-12);
  EXPECT_NEAR(split.nll, whole.nll, 1e-9);
  EXPECT_EQ(split.bins.size(), 15u);
}

TEST(Calibration, PerfectlyCalibratedModelHasSmallEce) {
  // Labels drawn from the model's own softmax: calibrated by construction.
  torch::manual_seed(2);
  const torch::Tensor logits = torch::randn({20000, 4}) * 2;
  const torch::Tensor labels = torch::multinomial(torch::softmax(logits, 1), 1).squeeze(1);
  EXPECT_LT(calibration(logits, labels).ece, 0.02);
  // The same predictions made three times too confident are badly calibrated...
  EXPECT_GT(calibration(logits * 3, labels).ece, 0.1);
  // ...and temperature scaling finds the factor again.
  EXPECT_NEAR(fit_temperature(logits * 3, labels), 3.0, 0.15);
}

}  // namespace
}  // namespace kd
