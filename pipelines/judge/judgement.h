// What `kdpipe judge` concludes from the students it has trained so far: the temperature of each
// teacher (chosen on validation accuracy in the first round, then fixed), and every comparison's
// decision, replayed look by look from the first seeds on. Pure: the same results give the same
// judgement, which is how a killed judge resumes to the same decisions.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "lib/metrics/sequential.h"

namespace kd {

/// A student's accuracies, in points (0–100), and the γ of its targets.
struct StudentScore {
  double val = 0, test = 0, gamma = 0;
};

/// Students by seed.
using SeedScores = std::map<std::uint64_t, StudentScore>;

/// Everything trained so far: each teacher's students by temperature, and the student trained
/// alone (hard labels). Student seeds are 0, 1, 2, …
struct JudgeEvidence {
  std::vector<std::map<double, SeedScores>> distilled;  ///< per teacher, by temperature
  SeedScores alone;
};

/// Two arms compared over the seeds they share: teacher a's students minus teacher b's, or (b
/// absent) teacher a's students minus the student trained alone.
struct JudgedComparison {
  std::size_t a = 0;
  std::optional<std::size_t> b;
  Decision decision = Decision::undecided;
  /// At the deciding look, or the latest one; method names the rule.
  Difference difference;
  int64_t seeds = 0;   ///< pairs at that look
  double nominal = 0;  ///< the nominal level of that look's boundary
  bool family_of_teachers() const { return b.has_value(); }
};

struct Judgement {
  /// Per teacher, once the first round's students are in; empty before.
  std::vector<double> temperature;
  /// Teacher pairs (a < b), then each teacher against training alone.
  std::vector<JudgedComparison> comparisons;
  int64_t looked = 0;  ///< seeds at the latest look (0: none yet)

  bool open() const;
  /// The arms the next seed is needed for: teachers (by index) and whether the student trained
  /// alone, for the comparisons still open.
  std::vector<std::size_t> teachers_needed() const;
  bool alone_needed() const;
};

/// The judgement of `evidence` under `plan` (first_look seeds in the first round, at every
/// temperature of `grid`; then one seed per look). A teacher's temperature is the one of the
/// highest mean validation accuracy over the first round's seeds (the lower on a tie). Teacher
/// pairs form one family and the comparisons with training alone another: each family's false
/// "differs" is held at plan.alpha (family_look). Replays every look whose students are all in.
Judgement judge(const JudgeEvidence& evidence, const std::vector<double>& grid,
                const SequentialPlan& plan);

}  // namespace kd
