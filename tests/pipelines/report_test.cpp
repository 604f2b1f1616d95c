#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <sstream>

#include "lib/core/error.h"
#include "pipelines/report/report_model.h"
#include "pipelines/report/report_writers.h"
#include "tests/support/temp_dir.h"

namespace kd {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

constexpr std::optional<double> kNone = std::nullopt;

// A group of students: its test (and validation) accuracy per seed, seeds 0, 1, 2, ...; a
// distilled one with a teacher ε and T, else trained alone on hard labels.
StudentGroup group(std::optional<double> teacher_eps, std::optional<double> t,
                   std::vector<double> test, std::vector<double> val = {}) {
  std::vector<StudentResult> students;
  for (std::size_t i = 0; i < test.size(); ++i) {
    StudentResult s;
    s.key.source = teacher_eps ? StudentSource::distill : StudentSource::hard;
    s.key.arch = "mlp:8";
    s.key.teacher_smoothing = teacher_eps;
    s.key.temperature = t;
    s.seed = static_cast<int64_t>(i);
    s.test_accuracy = test[i];
    s.val_accuracy = val.empty() ? test[i] : val[i];
    students.push_back(s);
  }
  return group_students(students).at(0);
}

std::vector<TeacherResult> teachers(double hard_acc, double smooth_acc) {
  TeacherResult hard, smooth;
  hard.smoothing = 0.0, hard.test_accuracy = hard_acc;
  smooth.smoothing = 0.1, smooth.test_accuracy = smooth_acc;
  return {hard, smooth};
}

std::string line(const std::vector<std::string>& v, std::size_t i) {
  return i < v.size() ? v[i] : "";
}

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const std::string& l : v) out += l + "\n";
  return out;
}

TEST(Verdict, AClearShiftIsClaimedWithItsInterval) {
  const std::vector<StudentGroup> students = {group(0.0, 2.0, {0.870, 0.872, 0.869, 0.871}),
                                              group(0.1, 2.0, {0.860, 0.861, 0.857, 0.862}),
                                              group(kNone, kNone, {0.850, 0.853, 0.849, 0.852})};
  const std::vector<std::string> v = verdict(teachers(0.88, 0.89), students);
  ASSERT_EQ(v.size(), 4u) << joined(v);
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
  const std::vector<StudentGroup> students = {group(0.0, 2.0, {0.850, 0.852, 0.849}),
                                              group(kNone, kNone, {0.860, 0.861, 0.857})};
  const std::vector<std::string> v = verdict(teachers(0.88, 0.87), students);
  EXPECT_NE(line(v, 1).find("Training alone beat distillation"), std::string::npos) << joined(v);
}

// Teachers with one seed each are compared example by example on the test set (the report's
// teacher_comparisons): a claim only when the bootstrap interval excludes zero, always with the
// caveat that training seeds are not covered.
TEST(Verdict, SingleSeedTeachersAreJudgedOnTheTestExamples) {
  const std::vector<StudentGroup> students = {group(0.0, 2.0, {0.870, 0.872, 0.869}),
                                              group(0.1, 2.0, {0.860, 0.861, 0.857})};
  auto comparison = [](double lo, double hi, double p) {
    return std::vector<TeacherComparison>{
        {0.0, 0.1, "bootstrap", (lo + hi) / 2, {lo, hi}, p, 10000, 300, 200}};
  };
  std::vector<std::string> v =
      verdict(teachers(0.89, 0.88), students, comparison(0.004, 0.016, 0.0001));
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
  const std::vector<StudentGroup> students = {group(0.0, 2.0, same), group(0.1, 2.0, same),
                                              group(kNone, kNone, same)};
  const std::vector<std::string> v = verdict(teachers(0.88, 0.87), students);
  EXPECT_NE(line(v, 1).find("No difference between the students"), std::string::npos) << line(v, 1);
  EXPECT_NE(line(v, 1).find("detectable with 3 seeds"), std::string::npos) << line(v, 1);
  EXPECT_NE(line(v, 3).find("No difference between distillation and training alone"),
            std::string::npos)
      << line(v, 3);
  for (const std::string& l : v) EXPECT_EQ(l.find("better"), std::string::npos) << l;
}

// The tiny study of the issue: 76.34% against 76.32% from one seed is no difference.
TEST(Verdict, OneSeedMakesNoSeedClaim) {
  const std::vector<StudentGroup> students = {group(0.0, 4.0, {0.7634}), group(0.1, 4.0, {0.7632}),
                                              group(kNone, kNone, {0.7629})};
  const std::vector<std::string> v = verdict(teachers(0.80, 0.81), students);
  for (const std::string& s : v) {
    EXPECT_EQ(s.find("range"), std::string::npos) << s;
    EXPECT_EQ(s.find("teaches better"), std::string::npos) << s;
    EXPECT_EQ(s.find("beat"), std::string::npos) << s;
    EXPECT_EQ(s.find("1 seeds"), std::string::npos) << s;  // plurals
  }
  EXPECT_NE(line(v, 1).find("detectable with 1 seed per group"), std::string::npos) << line(v, 1);
}

// Validation prefers T = 2, the test set T = 4: the verdict takes T = 2 and says so.
TEST(Verdict, TemperatureFollowsValidationNotTest) {
  const std::vector<StudentGroup> students = {group(0.0, 2.0, {0.860, 0.861}, {0.880, 0.881}),
                                              group(0.0, 4.0, {0.870, 0.871}, {0.870, 0.871}),
                                              group(0.1, 2.0, {0.850, 0.851}, {0.860, 0.861})};
  const std::vector<std::string> v = verdict(teachers(0.88, 0.87), students);
  EXPECT_NE(line(v, 0).find("ε = 0 → T = 2"), std::string::npos) << line(v, 0);
  EXPECT_NE(line(v, 0).find("test accuracy is only reported"), std::string::npos) << line(v, 0);
  EXPECT_NE(line(v, 1).find("86.05% (ε = 0, T = 2)"), std::string::npos) << line(v, 1);
}

// A run directory written by the test: a manifest and each student stage's metrics.json, with
// accuracies whose truth is known. build_report reads it as it reads a real run.
class SyntheticRun {
 public:
  // A distilled student (teacher ε, T, seed) or, with eps < 0, a student trained alone; returns
  // its metrics file.
  fs::path add(double eps, double t, int seed, double test, double val) {
    const bool alone = eps < 0;
    std::ostringstream id;
    id << (alone ? "baseline/hard/s" : "distill/eps") << (alone ? "" : std::to_string(eps))
       << (alone ? "" : "-T" + std::to_string(t)) << "-seed" << seed;
    const fs::path dir = dir_ / id.str();
    fs::create_directories(dir);
    json m = {{"options",
               {{"arch", "mlp:8"},
                {"baseline", alone ? "hard" : "none"},
                {"smoothing", 0.0},
                {"seed", seed},
                {"temperature", t},
                {"alpha", 1.0}}},
              {"test", {{"accuracy", test}, {"ece", 0.01}}},
              {"val", {{"accuracy", val}}},
              {"target_gamma", 0.1}};
    if (!alone) m["teacher"] = {{"smoothing", eps}};
    std::ofstream(dir / "metrics.json") << m.dump();
    stages_.push_back({{"id", id.str()},
                       {"kind", alone ? "baseline" : "distill"},
                       {"output", id.str() + "/metrics.json"}});
    return dir / "metrics.json";
  }
  Report report() {
    std::ofstream(dir_ / "manifest.json") << json({{"stages", stages_}}).dump();
    return build_report(dir_.path());
  }
  std::string verdict() { return joined(report().verdict); }

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
    const std::string v = run.verdict();
    EXPECT_NE(v.find("teaches better"), std::string::npos) << v;
    EXPECT_NE(v.find("Distillation beat training alone"), std::string::npos) << v;
  }
  {  // Identical groups: no difference.
    SyntheticRun run;
    for (int seed = 0; seed < 3; ++seed) {
      run.add(0.0, 2, seed, 0.86 + 0.003 * seed, 0.87);
      run.add(0.1, 2, seed, 0.86 + 0.003 * seed, 0.87);
    }
    const std::string v = run.verdict();
    EXPECT_NE(v.find("No difference between the students"), std::string::npos) << v;
  }
  {  // Validation prefers T = 2, the test set T = 4: T follows validation.
    SyntheticRun run;
    for (int seed = 0; seed < 2; ++seed) {
      run.add(0.0, 2, seed, 0.860, 0.880);
      run.add(0.0, 4, seed, 0.870, 0.870);
    }
    const std::string v = run.verdict();
    EXPECT_NE(v.find("ε = 0 → T = 2"), std::string::npos) << v;
  }
}

TEST(Report, GroupsStudentsOverSeedsInKeyOrder) {
  SyntheticRun run;
  run.add(0.1, 4, 1, 0.80, 0.81);
  run.add(-1, 0, 0, 0.70, 0.71);
  run.add(0.1, 4, 0, 0.82, 0.83);
  const Report r = run.report();
  ASSERT_EQ(r.students.size(), 2u);
  const StudentGroup& g = r.students[0];  // distilled before alone
  EXPECT_EQ(g.key.source, StudentSource::distill);
  EXPECT_EQ(g.seeds, (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(g.accuracies, (std::vector<double>{0.82, 0.80}));
  EXPECT_DOUBLE_EQ(g.accuracy_mean, 0.81);
  ASSERT_TRUE(g.accuracy_ci95.has_value());
  EXPECT_LT((*g.accuracy_ci95)[0], 0.80);
  EXPECT_FALSE(r.students[1].accuracy_ci95.has_value());  // one seed: no interval
  EXPECT_EQ(to_json(r)["students"][1]["accuracy_ci95"], nullptr);
}

TEST(Report, RefusesADirectoryThatIsNotARun) {
  testing::TempDir dir;
  EXPECT_THROW(build_report(dir.path()), StorageError);
}

// A stale, hand-edited or damaged metrics file is refused naming the file and the field.
TEST(Report, MalformedMetricsAreRefusedByFileAndField) {
  const auto edited = [](const std::function<void(json&)>& edit) {
    SyntheticRun run;
    run.add(0.0, 2, 0, 0.86, 0.87);
    const fs::path metrics = run.add(0.0, 2, 1, 0.86, 0.87);
    json m = json::parse(std::ifstream(metrics));
    edit(m);
    std::ofstream(metrics) << m.dump();
    try {
      run.report();
    } catch (const StorageError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(metrics.string()), std::string::npos) << what;
      return what;
    }
    ADD_FAILURE() << "no StorageError";
    return std::string();
  };
  EXPECT_NE(
      edited([](json& m) { m["test"].erase("accuracy"); }).find("field 'test.accuracy' is missing"),
      std::string::npos);
  EXPECT_NE(edited([](json& m) {
              m["test"]["accuracy"] = 5.0;
            }).find("field 'test.accuracy' is 5, outside [0, 1]"),
            std::string::npos);
  EXPECT_NE(edited([](json& m) {
              m["options"]["seed"] = "zero";
            }).find("field 'options.seed' is not a whole number"),
            std::string::npos);
  EXPECT_NE(
      edited([](json& m) { m["teacher"] = nullptr; }).find("field 'teacher' is not an object"),
      std::string::npos);
  EXPECT_NE(edited([](json& m) {
              m["options"]["baseline"] = "magic";
            }).find("field 'options.baseline' is 'magic'"),
            std::string::npos);

  SyntheticRun run;
  const fs::path metrics = run.add(0.0, 2, 0, 0.86, 0.87);
  std::ofstream(metrics) << R"({"options": {"arch": )";  // truncated
  try {
    run.report();
    ADD_FAILURE() << "no StorageError";
  } catch (const StorageError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(metrics.string() + ": not valid JSON", 0), 0u)
        << e.what();
  }
}

// The Markdown and HTML pages are one layout in two formats: the same tables, row for row.
TEST(Report, PagesShowTheSameTablesInEachFormat) {
  SyntheticRun run;
  for (int seed = 0; seed < 2; ++seed) {
    run.add(0.0, 2, seed, 0.86, 0.87);
    run.add(0.1, 2, seed, 0.85, 0.86);
    run.add(-1, 0, seed, 0.84, 0.85);
  }
  Report r = run.report();
  r.run_dir = "<run> | 'x'";
  const std::string md = markdown_writer()->render(r), html = html_writer()->render(r);
  const auto count = [](const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count(html, "<tr>"), 2u + r.students.size());  // two header rows, a row per group
  EXPECT_EQ(count(md, "| teacher eps 0 |") + count(md, "| alone, hard labels |"), 2u) << md;
  EXPECT_EQ(count(html, "<td>teacher eps 0</td>") + count(html, "<td>alone, hard labels</td>"), 2u);
  EXPECT_NE(html.find("&lt;run&gt; | &#39;x&#39;"), std::string::npos);
  EXPECT_EQ(json::parse(json_writer()->render(r))["students"].size(), r.students.size());
}

}  // namespace
}  // namespace kd
