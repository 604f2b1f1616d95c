// Comparisons with named statistics, for the report's verdict: how large a difference is, with a
// 95% interval, and by which test. Pure functions over plain numbers; distributions come from
// Boost.Math.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace kd {

/// An estimated difference (first minus second) and its confidence interval.
struct Difference {
  std::string method;  ///< "paired t", "Welch t", "bootstrap", ...
  double estimate = 0;
  double low = 0;   ///< NaN when the data cannot give an interval (one seed, say)
  double high = 0;  ///< NaN likewise
  double level = 0.95;
  int64_t n = 0;        ///< pairs, or examples; for Welch the smaller group
  double df = 0;        ///< degrees of freedom of a t interval (0 otherwise)
  double p_value = 1;   ///< two-sided, for "no difference" (NaN when not computable)
  double sd = 0;        ///< standard deviation of the paired differences (paired t only)

  /// Whether the interval excludes zero: the only case in which a difference is called real.
  bool excludes_zero() const { return low > 0 || high < 0; }
};

/// Mean of a[i] - b[i] with a t interval on n - 1 degrees of freedom; for groups that share their
/// seeds (initialisation, data order, subset). Needs a.size() == b.size(); with one pair the
/// interval is NaN.
Difference paired_difference(const std::vector<double>& a, const std::vector<double>& b,
                             double level = 0.95);

/// mean(a) - mean(b) with Welch's t interval (unequal variances, Welch–Satterthwaite degrees of
/// freedom); for groups that do not share seeds. NaN interval unless both have two values.
Difference welch_difference(const std::vector<double>& a, const std::vector<double>& b,
                            double level = 0.95);

/// McNemar's exact test of two classifiers on the same examples: `only_first` examples the first
/// gets right and the second wrong, `only_second` the reverse. Two-sided p-value,
/// min(1, 2 P[X <= min]) with X ~ Binomial(only_first + only_second, 1/2); 1 when both are 0.
double mcnemar_exact_p(int64_t only_first, int64_t only_second);

/// Accuracy of the first minus the second on the same examples (bool or 0/1 tensors [N]), with a
/// percentile bootstrap interval over `resamples` resamplings of the examples (seeded), and
/// McNemar's exact p-value.
Difference paired_accuracy_difference(const torch::Tensor& correct_first,
                                      const torch::Tensor& correct_second,
                                      int64_t resamples = 2000, uint64_t seed = 0,
                                      double level = 0.95);

/// Seeds needed per group for a paired t interval of half-width |estimate| at this spread: the
/// smallest n with t(n-1) * sd / sqrt(n) < |estimate|, or 0 when the difference is 0 or no n up
/// to 1000 suffices. `sd` is the standard deviation of the paired differences.
int64_t seeds_to_resolve(double estimate, double sd, double level = 0.95);

}  // namespace kd
