#include "lib/metrics/statistics.h"

#include <algorithm>
#include <boost/math/distributions/binomial.hpp>
#include <boost/math/distributions/students_t.hpp>
#include <cmath>
#include <limits>
#include <numeric>

#include "lib/core/error.h"
#include "lib/core/hash.h"

namespace kd {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double mean(const std::vector<double>& v) {
  return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

// Sample variance (n - 1 in the denominator).
double variance(const std::vector<double>& v) {
  const double m = mean(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return s / static_cast<double>(v.size() - 1);
}

// The two-sided critical value and p-value of a t statistic on `df` degrees of freedom.
void t_interval(Difference& d, double se) {
  const boost::math::students_t t(d.df);
  const double q = boost::math::quantile(boost::math::complement(t, (1 - d.level) / 2));
  d.low = d.estimate - q * se;
  d.high = d.estimate + q * se;
  if (se > 0) {
    d.p_value = 2 * boost::math::cdf(boost::math::complement(t, std::fabs(d.estimate) / se));
  } else {
    d.p_value = d.estimate == 0 ? 1.0 : 0.0;  // no spread at all: every pair differs equally
  }
}

}  // namespace

Difference paired_difference(const std::vector<double>& a, const std::vector<double>& b,
                             double level) {
  check<ConfigError>(a.size() == b.size() && !a.empty(),
                     "paired difference: expected two non-empty groups of equal size, got ",
                     a.size(), " and ", b.size());
  std::vector<double> diff(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) diff[i] = a[i] - b[i];
  Difference d;
  d.method = "paired t";
  d.level = level;
  d.n = static_cast<int64_t>(diff.size());
  d.estimate = mean(diff);
  if (d.n < 2) {
    d.low = d.high = d.p_value = kNaN;
    return d;
  }
  d.df = static_cast<double>(d.n - 1);
  d.sd = std::sqrt(variance(diff));
  t_interval(d, d.sd / std::sqrt(static_cast<double>(d.n)));
  return d;
}

Difference welch_difference(const std::vector<double>& a, const std::vector<double>& b,
                            double level) {
  check<ConfigError>(!a.empty() && !b.empty(), "Welch difference: a group is empty");
  Difference d;
  d.method = "Welch t";
  d.level = level;
  d.n = static_cast<int64_t>(std::min(a.size(), b.size()));
  d.estimate = mean(a) - mean(b);
  if (a.size() < 2 || b.size() < 2) {
    d.low = d.high = d.p_value = kNaN;
    return d;
  }
  const double va = variance(a) / static_cast<double>(a.size());
  const double vb = variance(b) / static_cast<double>(b.size());
  const double se = std::sqrt(va + vb);
  // Welch–Satterthwaite; with no spread in either group any df gives the same (zero-width) answer.
  d.df = se > 0 ? (va + vb) * (va + vb) /
                      (va * va / static_cast<double>(a.size() - 1) +
                       vb * vb / static_cast<double>(b.size() - 1))
                : static_cast<double>(a.size() + b.size() - 2);
  t_interval(d, se);
  return d;
}

double mcnemar_exact_p(int64_t only_first, int64_t only_second) {
  check<ConfigError>(only_first >= 0 && only_second >= 0, "McNemar: negative counts");
  const int64_t n = only_first + only_second;
  if (n == 0) return 1.0;
  const boost::math::binomial_distribution<double> x(static_cast<double>(n), 0.5);
  const double tail = boost::math::cdf(x, static_cast<double>(std::min(only_first, only_second)));
  return std::min(1.0, 2 * tail);
}

Difference paired_accuracy_difference(const torch::Tensor& correct_first,
                                      const torch::Tensor& correct_second, int64_t resamples,
                                      uint64_t seed, double level) {
  check<ConfigError>(correct_first.dim() == 1 && correct_first.sizes() == correct_second.sizes() &&
                         correct_first.numel() > 0,
                     "accuracy difference: expected two predictions of the same examples, got ",
                     correct_first.sizes(), " and ", correct_second.sizes());
  check<ConfigError>(resamples >= 100, "bootstrap: expected at least 100 resamples");
  const torch::Tensor a = correct_first.to(torch::kFloat64).contiguous();
  const torch::Tensor b = correct_second.to(torch::kFloat64).contiguous();
  const torch::Tensor diff = a - b;  // +1, 0 or -1 per example
  const int64_t n = diff.numel();
  Difference d;
  d.method = "bootstrap";
  d.level = level;
  d.n = n;
  d.estimate = diff.mean().item<double>();
  const int64_t only_first = (diff > 0).sum().item<int64_t>();
  const int64_t only_second = (diff < 0).sum().item<int64_t>();
  d.p_value = mcnemar_exact_p(only_first, only_second);
  // Resampling examples with replacement; the draws are a counter-based stream, so the interval
  // is the same on every run and machine.
  const double* v = diff.data_ptr<double>();
  std::vector<double> means(static_cast<std::size_t>(resamples));
  for (int64_t r = 0; r < resamples; ++r) {
    double s = 0;
    for (int64_t i = 0; i < n; ++i) {
      s += v[counter_random(seed, static_cast<uint64_t>(r), static_cast<uint64_t>(i)) %
             static_cast<uint64_t>(n)];
    }
    means[static_cast<std::size_t>(r)] = s / static_cast<double>(n);
  }
  std::sort(means.begin(), means.end());
  auto at = [&](double q) {  // the q-quantile, interpolated between order statistics
    const double pos = q * static_cast<double>(resamples - 1);
    const auto lo = static_cast<std::size_t>(std::floor(pos));
    const std::size_t hi = std::min(lo + 1, means.size() - 1);
    return means[lo] + (pos - static_cast<double>(lo)) * (means[hi] - means[lo]);
  };
  d.low = at((1 - level) / 2);
  d.high = at(1 - (1 - level) / 2);
  return d;
}

int64_t seeds_to_resolve(double estimate, double sd, double level) {
  if (estimate == 0 || !(sd >= 0) || !std::isfinite(estimate)) return 0;
  for (int64_t n = 2; n <= 1000; ++n) {
    const boost::math::students_t t(static_cast<double>(n - 1));
    const double q = boost::math::quantile(boost::math::complement(t, (1 - level) / 2));
    if (q * sd / std::sqrt(static_cast<double>(n)) < std::fabs(estimate)) return n;
  }
  return 0;
}

}  // namespace kd
