// Deciding a paired comparison by adding seeds in rounds. Looking at a t interval after every
// round and stopping at the first that excludes zero would claim false differences far more often
// than its 5% (about one in six over eight looks); this is a group-sequential paired t test with
// a Pocock boundary instead: every look uses the same nominal level, chosen so that the chance of
// any false "differs" over all the planned looks is `alpha`. Its repeated confidence intervals
// decide equivalence too: an interval inside ±precision says no difference is larger than that.
//
// The nominal level is calibrated by simulation (deterministic, exact for any spread: the t
// statistics of paired normal differences do not depend on their standard deviation); looking
// less often than planned (rounds of several seeds) only makes false claims rarer.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "lib/core/enum_names.h"
#include "lib/metrics/statistics.h"

namespace kd {

/// The three outcomes of a comparison.
enum class Decision { differs, equivalent, undecided };
template <>
struct EnumNames<Decision> {
  static constexpr std::array<const char*, 3> names = {"differs", "equivalent", "undecided"};
};

struct SequentialPlan {
  int64_t first_look = 3;  ///< pairs (seeds) at the first look
  int64_t max_pairs = 10;  ///< pairs at the last look: undecided then stays undecided
  double precision = 0.3;  ///< equivalence margin, in the differences' units (accuracy points)
  double alpha = 0.05;     ///< chance of any false "differs" over all looks

  /// ConfigError naming the field unless 2 <= first_look <= max_pairs <= 1000, precision > 0 and
  /// 0 < alpha < 1.
  void validate() const;
};

/// The nominal two-sided level of each look's t test (below alpha): the smallest chance the
/// boundary lets any one look have. Computed once per plan (a fraction of a second), then kept.
double pocock_nominal_level(const SequentialPlan& plan);

struct SequentialLook {
  Decision decision = Decision::undecided;
  /// The estimate and the repeated confidence interval at this look (level 1 - nominal).
  Difference difference;
  double nominal = 0;
  bool last = false;  ///< max_pairs reached: an undecided comparison ends undecided
};

/// The look at `differences` (one paired difference per seed, in order; at least first_look of
/// them): "differs" when the interval excludes 0, "equivalent" when it lies inside ±precision
/// (identical results, differences all 0, are equivalent), "undecided" otherwise.
SequentialLook sequential_look(const std::vector<double>& differences, const SequentialPlan& plan);

/// One look at a family of m comparisons whose false "differs" must together stay below
/// plan.alpha: Holm's step-down over the boundaries. `earlier[i]` is comparison i's decision at an
/// earlier look (undecided: still open). With r comparisons found to differ, the open ones are
/// looked at with the boundary of level alpha / (m - r); each new "differs" raises the level of
/// the rest, as in Holm's procedure. Returns a look for every open comparison, nothing for one
/// decided earlier (its decision stands).
std::vector<std::optional<SequentialLook>> family_look(
    const std::vector<std::vector<double>>& differences, const std::vector<Decision>& earlier,
    const SequentialPlan& plan);

}  // namespace kd
