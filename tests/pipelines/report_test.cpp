#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "lib/core/error.h"
#include "pipelines/report/report_model.h"
#include "tests/support/temp_dir.h"

namespace kd {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

// A group of students: its test (and validation) accuracy per seed, seeds 0, 1, 2, ...
json group(const std::string& kind, json teacher_eps, json t, std::vector<double> test,
           std::vector<double> val = {}) {
  std::vector<int64_t> seeds(test.size());
  for (std::size_t i = 0; i < seeds.size(); ++i) seeds[i] = static_cast<int64_t>(i);
  return {{"kind", kind},
          {"teacher_smoothing", teacher_eps},
          {"temperature", t},
          {"smoothing", nullptr},
          {"seeds", seeds},
          {"accuracies", test},
          {"val_accuracies", val.empty() ? test : val}};
}

json teachers(double hard_acc, double smooth_acc) {
  return json::array({{{"smoothing", 0.0}, {"seed", 0}, {"test_accuracy", hard_acc}},
                      {{"smoothing", 0.1}, {"seed", 0}, {"test_accuracy", smooth_acc}}});
}

std::string line(const json& v, std::size_t i) {
  return i < v.size() ? v[i].get<std::string>() : "";
}

TEST(Verdict, AClearShiftIsClaimedWithItsInterval) {
  const json students =
      json::array({group("distill", 0.0, 2.0, {0.870, 0.872, 0.869, 0.871}),
                   group("distill", 0.1, 2.0, {0.860, 0.861, 0.857, 0.862}),
                   group("hard", nullptr, nullptr, {0.850, 0.853, 0.849, 0.852})});
  const json v = verdict(teachers(0.88, 0.89), students);
  ASSERT_EQ(v.size(), 4u) << v.dump(2);
  EXPECT_NE(line(v, 0).find("validation accuracy"), std::string::npos) << line(v, 0);
  EXPECT_NE(
      line(v, 1).find("The teacher with label smoothing 0 teaches better than the one with 0.1"),
      std::string::npos)
      << line(v, 1);
  EXPECT_NE(line(v, 1).find("95% interval"), std::string::npos) << line(v, 1);
  EXPECT_NE(line(v, 1).find("paired t over 4 seeds"), std::string::npos) << line(v, 1);
  // One teacher seed each: the teachers' accuracies are not judged, and the line says why.
  EXPECT_NE(line(v, 2).find("No difference between the teachers"), std::string::npos) << line(v, 2);
  EXPECT_NE(line(v, 2).find("training-seed variation is not covered"), std::string::npos);
  EXPECT_NE(line(v, 3).find("Distillation beat training alone"), std::string::npos) << line(v, 3);
}

TEST(Verdict, AClaimFollowsTheSignOfTheDifference) {
  const json students = json::array({group("distill", 0.0, 2.0, {0.850, 0.852, 0.849}),
                                     group("hard", nullptr, nullptr, {0.860, 0.861, 0.857})});
  const json v = verdict(teachers(0.88, 0.87), students);
  EXPECT_NE(line(v, 1).find("Training alone beat distillation"), std::string::npos) << v.dump(2);
}

// Teachers with one seed each are compared example by example on the test set (the report's
// teacher_comparisons): a claim only when the bootstrap interval excludes zero, always with the
// caveat that training seeds are not covered.
TEST(Verdict, SingleSeedTeachersAreJudgedOnTheTestExamples) {
  const json students = json::array({group("distill", 0.0, 2.0, {0.870, 0.872, 0.869}),
                                     group("distill", 0.1, 2.0, {0.860, 0.861, 0.857})});
  auto comparison = [](double lo, double hi, double p) {
    return json::array({{{"smoothing_a", 0.0},
                         {"smoothing_b", 0.1},
                         {"estimate", (lo + hi) / 2},
                         {"ci95", {lo, hi}},
                         {"mcnemar_p", p},
                         {"examples", 10000},
                         {"only_a_right", 300},
                         {"only_b_right", 200}}});
  };
  json v = verdict(teachers(0.89, 0.88), students, comparison(0.004, 0.016, 0.0001));
  EXPECT_NE(line(v, 2).find("the teacher with label smoothing 0 is more accurate than the one "
                            "with 0.1"),
            std::string::npos)
      << line(v, 2);
  EXPECT_NE(line(v, 2).find("McNemar's exact test on the 500 examples"), std::string::npos);
  EXPECT_NE(line(v, 2).find("training-seed variation is not covered"), std::string::npos);
  v = verdict(teachers(0.89, 0.88), students, comparison(-0.002, 0.006, 0.3));
  EXPECT_NE(line(v, 2).find("No difference in accuracy between the teachers"), std::string::npos)
      << line(v, 2);
}

TEST(Verdict, IdenticalGroupsShowNoDifference) {
  const std::vector<double> same = {0.861, 0.866, 0.858};
  const json students =
      json::array({group("distill", 0.0, 2.0, same), group("distill", 0.1, 2.0, same),
                   group("hard", nullptr, nullptr, same)});
  const json v = verdict(teachers(0.88, 0.87), students);
  EXPECT_NE(line(v, 1).find("No difference between the students"), std::string::npos) << line(v, 1);
  EXPECT_NE(line(v, 1).find("detectable with 3 seeds"), std::string::npos) << line(v, 1);
  EXPECT_NE(line(v, 3).find("No difference between distillation and training alone"),
            std::string::npos)
      << line(v, 3);
  for (const auto& l : v) EXPECT_EQ(l.get<std::string>().find("better"), std::string::npos) << l;
}

// The tiny study of the issue: 76.34% against 76.32% from one seed is no difference.
TEST(Verdict, OneSeedMakesNoSeedClaim) {
  const json students =
      json::array({group("distill", 0.0, 4.0, {0.7634}), group("distill", 0.1, 4.0, {0.7632}),
                   group("hard", nullptr, nullptr, {0.7629})});
  const json v = verdict(teachers(0.80, 0.81), students);
  for (const auto& l : v) {
    const std::string s = l.get<std::string>();
    EXPECT_EQ(s.find("range"), std::string::npos) << s;
    EXPECT_EQ(s.find("teaches better"), std::string::npos) << s;
    EXPECT_EQ(s.find("beat"), std::string::npos) << s;
    EXPECT_EQ(s.find("1 seeds"), std::string::npos) << s;  // plurals
  }
  EXPECT_NE(line(v, 1).find("detectable with 1 seed per group"), std::string::npos) << line(v, 1);
}

// Validation prefers T = 2, the test set T = 4: the verdict takes T = 2 and says so.
TEST(Verdict, TemperatureFollowsValidationNotTest) {
  const json students = json::array({group("distill", 0.0, 2.0, {0.860, 0.861}, {0.880, 0.881}),
                                     group("distill", 0.0, 4.0, {0.870, 0.871}, {0.870, 0.871}),
                                     group("distill", 0.1, 2.0, {0.850, 0.851}, {0.860, 0.861})});
  const json v = verdict(teachers(0.88, 0.87), students);
  EXPECT_NE(line(v, 0).find("ε = 0 → T = 2"), std::string::npos) << line(v, 0);
  EXPECT_NE(line(v, 0).find("test accuracy is only reported"), std::string::npos) << line(v, 0);
  EXPECT_NE(line(v, 1).find("86.05% (ε = 0, T = 2)"), std::string::npos) << line(v, 1);
}

// A run directory written by the test: a manifest and each student stage's stage.json and
// metrics.json, with accuracies whose truth is known. build_report reads it as it reads a real run.
class SyntheticRun {
 public:
  // A distilled student (teacher ε, T, seed) or, with eps < 0, a student trained alone.
  void add(double eps, double t, int seed, double test, double val) {
    const bool alone = eps < 0;
    std::ostringstream id;
    id << (alone ? "baseline/hard/s" : "distill/eps") << (alone ? "" : std::to_string(eps))
       << (alone ? "" : "-T" + std::to_string(t)) << "-seed" << seed;
    const fs::path dir = dir_ / id.str();
    fs::create_directories(dir);
    const json command = alone ? json({"distill", "--baseline", "hard"}) : json({"distill"});
    std::ofstream(dir / "stage.json") << json({{"command", command}}).dump();
    json m = {{"options", {{"arch", "mlp:8"}, {"seed", seed}, {"temperature", t}, {"alpha", 1.0}}},
              {"test", {{"accuracy", test}, {"ece", 0.01}}},
              {"val", {{"accuracy", val}}},
              {"target_gamma", 0.1}};
    if (!alone) m["teacher"] = {{"smoothing", eps}};
    std::ofstream(dir / "metrics.json") << m.dump();
    stages_.push_back({{"id", id.str()},
                       {"kind", alone ? "baseline" : "distill"},
                       {"output", id.str() + "/metrics.json"}});
  }
  json report() {
    std::ofstream(dir_ / "manifest.json") << json({{"stages", stages_}}).dump();
    return build_report(dir_.path());
  }

 private:
  testing::TempDir dir_;
  json stages_ = json::array();
};

TEST(Report, VerdictOfSyntheticRunsFollowsTheirTruth) {
  {  // A clear shift: ε = 0's students are a point better on every seed.
    SyntheticRun run;
    for (int seed = 0; seed < 3; ++seed) {
      run.add(0.0, 2, seed, 0.870 + 0.001 * seed, 0.871);
      run.add(0.1, 2, seed, 0.860 + 0.0012 * seed, 0.861);
      run.add(-1, 0, seed, 0.850 + 0.0008 * seed, 0.851);
    }
    const json v = run.report()["verdict"];
    EXPECT_NE(v.dump().find("teaches better"), std::string::npos) << v.dump(2);
    EXPECT_NE(v.dump().find("Distillation beat training alone"), std::string::npos) << v.dump(2);
  }
  {  // Identical groups: no difference.
    SyntheticRun run;
    for (int seed = 0; seed < 3; ++seed) {
      run.add(0.0, 2, seed, 0.86 + 0.003 * seed, 0.87);
      run.add(0.1, 2, seed, 0.86 + 0.003 * seed, 0.87);
    }
    const json v = run.report()["verdict"];
    EXPECT_NE(v.dump().find("No difference between the students"), std::string::npos) << v.dump(2);
  }
  {  // Validation prefers T = 2, the test set T = 4: T follows validation.
    SyntheticRun run;
    for (int seed = 0; seed < 2; ++seed) {
      run.add(0.0, 2, seed, 0.860, 0.880);
      run.add(0.0, 4, seed, 0.870, 0.870);
    }
    const json v = run.report()["verdict"];
    EXPECT_NE(v.dump().find("ε = 0 → T = 2"), std::string::npos) << v.dump(2);
  }
}

TEST(Report, RefusesADirectoryThatIsNotARun) {
  testing::TempDir dir;
  EXPECT_THROW(build_report(dir.path()), StorageError);
}

}  // namespace
}  // namespace kd
