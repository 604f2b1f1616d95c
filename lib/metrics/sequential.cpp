#include "lib/metrics/sequential.h"

#include <boost/math/distributions/students_t.hpp>
#include <cmath>
#include <map>
#include <mutex>
#include <tuple>

#include "lib/core/error.h"
#include "lib/core/hash.h"

namespace kd {

void SequentialPlan::validate() const {
  check<ConfigError>(first_look >= 2 && first_look <= max_pairs && max_pairs <= 1000,
                     "sequential plan: expected 2 <= first look <= max seeds <= 1000, got ",
                     first_look, " and ", max_pairs);
  check<ConfigError>(precision > 0 && std::isfinite(precision),
                     "--precision: expected a positive margin, got ", precision);
  check<ConfigError>(alpha > 0 && alpha < 1, "sequential plan: expected 0 < alpha < 1, got ",
                     alpha);
}

namespace {

constexpr int64_t kPaths = 200000;
constexpr std::uint64_t kSimulationKey = 0x706f636f636b2d31ULL;  // fixed: same level everywhere

// |t| of every look of every simulated path under no difference: [path][look].
std::vector<std::vector<double>> null_statistics(const SequentialPlan& plan) {
  const int64_t looks = plan.max_pairs - plan.first_look + 1;
  std::vector<std::vector<double>> t(static_cast<std::size_t>(kPaths),
                                     std::vector<double>(static_cast<std::size_t>(looks)));
  for (int64_t p = 0; p < kPaths; ++p) {
    double sum = 0, squares = 0;
    for (int64_t n = 1; n <= plan.max_pairs; ++n) {
      const double x = counter_normal(kSimulationKey, static_cast<std::uint64_t>(p),
                                      static_cast<std::uint64_t>(n));
      sum += x, squares += x * x;
      if (n < plan.first_look) continue;
      const double mean = sum / static_cast<double>(n);
      const double var = std::max(0.0, (squares - n * mean * mean) / static_cast<double>(n - 1));
      t[static_cast<std::size_t>(p)][static_cast<std::size_t>(n - plan.first_look)] =
          std::fabs(mean) / std::sqrt(var / static_cast<double>(n));
    }
  }
  return t;
}

// The share of paths on which some look's |t| passes its critical value at `nominal`.
double crossing_rate(const std::vector<std::vector<double>>& t, const SequentialPlan& plan,
                     double nominal) {
  std::vector<double> critical;
  for (int64_t n = plan.first_look; n <= plan.max_pairs; ++n) {
    const boost::math::students_t dist(static_cast<double>(n - 1));
    critical.push_back(boost::math::quantile(boost::math::complement(dist, nominal / 2)));
  }
  int64_t crossed = 0;
  for (const auto& path : t) {
    for (std::size_t k = 0; k < path.size(); ++k) {
      if (path[k] > critical[k]) {
        ++crossed;
        break;
      }
    }
  }
  return static_cast<double>(crossed) / static_cast<double>(t.size());
}

}  // namespace

double pocock_nominal_level(const SequentialPlan& plan) {
  plan.validate();
  static std::mutex mutex;
  static std::map<std::tuple<int64_t, int64_t, double>, double> known;
  const std::lock_guard<std::mutex> lock(mutex);
  const auto key = std::make_tuple(plan.first_look, plan.max_pairs, plan.alpha);
  if (const auto it = known.find(key); it != known.end()) return it->second;
  const auto t = null_statistics(plan);
  // The crossing rate grows with the nominal level: bisect on it (in log space: it is small).
  double lo = std::log(plan.alpha / (plan.max_pairs - plan.first_look + 1) / 10),
         hi = std::log(plan.alpha);
  for (int i = 0; i < 40; ++i) {
    const double mid = (lo + hi) / 2;
    (crossing_rate(t, plan, std::exp(mid)) > plan.alpha ? hi : lo) = mid;
  }
  return known[key] = std::exp(lo);
}

SequentialLook sequential_look(const std::vector<double>& differences, const SequentialPlan& plan) {
  const auto n = static_cast<int64_t>(differences.size());
  check<ConfigError>(n >= plan.first_look, "sequential look: ", n, " seeds, fewer than the ",
                     plan.first_look, " of the first look");
  SequentialLook look;
  look.nominal = pocock_nominal_level(plan);
  look.difference = paired_difference(differences, std::vector<double>(differences.size(), 0.0),
                                      1 - look.nominal);
  look.difference.method = "paired t, Pocock group-sequential boundary";
  look.last = n >= plan.max_pairs;
  const Difference& d = look.difference;
  if (d.excludes_zero()) {
    look.decision = Decision::differs;
  } else if (d.low > -plan.precision && d.high < plan.precision) {
    look.decision = Decision::equivalent;
  }
  return look;
}

std::vector<std::optional<SequentialLook>> family_look(
    const std::vector<std::vector<double>>& differences, const std::vector<Decision>& earlier,
    const SequentialPlan& plan) {
  check<ConfigError>(differences.size() == earlier.size(), "family look: ", differences.size(),
                     " comparisons but ", earlier.size(), " earlier decisions");
  const auto m = static_cast<double>(differences.size());
  std::vector<std::optional<SequentialLook>> out(differences.size());
  double found = 0;  // r: the comparisons found to differ, earlier or now
  for (Decision d : earlier) found += d == Decision::differs;
  for (bool raised = true; raised;) {
    raised = false;
    SequentialPlan level = plan;
    level.alpha = plan.alpha / (m - found);
    for (std::size_t i = 0; i < differences.size(); ++i) {
      if (earlier[i] != Decision::undecided) continue;
      if (out[i] && out[i]->decision == Decision::differs) continue;
      out[i] = sequential_look(differences[i], level);
      if (out[i]->decision == Decision::differs) {
        found += 1;
        raised = true;
      }
    }
  }
  return out;
}

}  // namespace kd
