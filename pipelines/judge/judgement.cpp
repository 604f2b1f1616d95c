#include "pipelines/judge/judgement.h"

#include <algorithm>
#include <numeric>

#include "lib/core/error.h"

namespace kd {

bool Judgement::open() const {
  return temperature.empty() || std::any_of(comparisons.begin(), comparisons.end(), [](auto& c) {
           return c.decision == Decision::undecided;
         });
}

std::vector<std::size_t> Judgement::teachers_needed() const {
  std::vector<std::size_t> out;
  for (const JudgedComparison& c : comparisons) {
    if (c.decision != Decision::undecided) continue;
    out.push_back(c.a);
    if (c.b) out.push_back(*c.b);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

bool Judgement::alone_needed() const {
  return std::any_of(comparisons.begin(), comparisons.end(), [](const JudgedComparison& c) {
    return c.decision == Decision::undecided && !c.b;
  });
}

namespace {

// The first n seeds' test accuracies of an arm, or nothing when one is missing.
std::optional<std::vector<double>> first_seeds(const SeedScores& arm, int64_t n) {
  std::vector<double> out;
  for (int64_t s = 0; s < n; ++s) {
    const auto it = arm.find(static_cast<std::uint64_t>(s));
    if (it == arm.end()) return std::nullopt;
    out.push_back(it->second.test);
  }
  return out;
}

// The temperature of the highest mean validation accuracy over the first round's seeds, or
// nothing until every one of them is in.
std::optional<double> chosen_temperature(const std::map<double, SeedScores>& by_t,
                                         const std::vector<double>& grid, int64_t first_look) {
  std::optional<double> best;
  double best_val = -1;
  for (double t : grid) {  // in grid order: ascending, so a tie keeps the lower
    const auto it = by_t.find(t);
    if (it == by_t.end()) return std::nullopt;
    double sum = 0;
    for (int64_t s = 0; s < first_look; ++s) {
      const auto seed = it->second.find(static_cast<std::uint64_t>(s));
      if (seed == it->second.end()) return std::nullopt;
      sum += seed->second.val;
    }
    if (sum / static_cast<double>(first_look) > best_val) {
      best_val = sum / static_cast<double>(first_look);
      best = t;
    }
  }
  return best;
}

}  // namespace

Judgement judge(const JudgeEvidence& evidence, const std::vector<double>& grid,
                const SequentialPlan& plan) {
  plan.validate();
  check<ConfigError>(!grid.empty() && std::is_sorted(grid.begin(), grid.end()),
                     "judge: the temperature grid must be ascending and not empty");
  Judgement j;
  const std::size_t k = evidence.distilled.size();
  for (std::size_t i = 0; i < k; ++i) {
    const auto t = chosen_temperature(evidence.distilled[i], grid, plan.first_look);
    if (!t) return Judgement{};
    j.temperature.push_back(*t);
  }
  for (std::size_t a = 0; a < k; ++a) {
    for (std::size_t b = a + 1; b < k; ++b) {
      j.comparisons.emplace_back();
      j.comparisons.back().a = a;
      j.comparisons.back().b = b;
    }
  }
  for (std::size_t a = 0; a < k; ++a) {
    j.comparisons.emplace_back();
    j.comparisons.back().a = a;
  }

  // The arm of each comparison side: a teacher's students at its temperature, or alone.
  const auto arm = [&](std::optional<std::size_t> i) -> const SeedScores& {
    static const SeedScores none;
    if (!i) return evidence.alone;
    const auto it = evidence.distilled[*i].find(j.temperature[*i]);
    return it == evidence.distilled[*i].end() ? none : it->second;
  };
  for (int64_t n = plan.first_look; n <= plan.max_pairs && j.open(); ++n) {
    for (const bool teachers : {true, false}) {
      std::vector<std::size_t> members;
      std::vector<std::vector<double>> differences;
      std::vector<Decision> earlier;
      bool complete = true;
      for (std::size_t c = 0; c < j.comparisons.size(); ++c) {
        const JudgedComparison& cmp = j.comparisons[c];
        if (cmp.family_of_teachers() != teachers) continue;
        members.push_back(c);
        earlier.push_back(cmp.decision);
        std::vector<double> d;
        if (cmp.decision == Decision::undecided) {
          const auto x = first_seeds(arm(cmp.a), n);
          const auto y = first_seeds(arm(cmp.b), n);
          if (!x || !y) {
            complete = false;
            break;
          }
          for (std::size_t s = 0; s < x->size(); ++s) d.push_back((*x)[s] - (*y)[s]);
        }
        differences.push_back(std::move(d));
      }
      if (!complete) return j;  // this look's students are not all in yet
      if (members.empty()) continue;
      const auto looks = family_look(differences, earlier, plan);
      for (std::size_t m = 0; m < members.size(); ++m) {
        if (!looks[m]) continue;
        JudgedComparison& cmp = j.comparisons[members[m]];
        cmp.decision = looks[m]->decision;
        cmp.difference = looks[m]->difference;
        cmp.seeds = n;
        cmp.nominal = looks[m]->nominal;
      }
    }
    j.looked = n;
  }
  return j;
}

}  // namespace kd
