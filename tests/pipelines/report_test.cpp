#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <sstream>

#include "lib/core/error.h"
#include "pipelines/report/report_model.h"
#include "pipelines/report/report_writers.h"
#include "tests/support/errors.h"
#include "tests/support/temp_dir.h"

namespace kd {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const std::string& l : v) out += l + "\n";
  return out;
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

// The report reads and writes the run's own files: a manifest, study file or report folder that
// is a link out of the run is refused, and a figure of an earlier report that this one does not
// draw is gone.
TEST(Report, ReadsAndWritesOnlyInsideTheRun) {
  testing::TempDir run, elsewhere;
  std::ofstream(elsewhere / "manifest.json") << json({{"stages", json::array()}}).dump();
  fs::create_symlink(elsewhere / "manifest.json", run / "manifest.json");
  EXPECT_NE(testing::error_of([&] { build_report(run.path()); }).find("leads out of"),
            std::string::npos);
  fs::remove(run / "manifest.json");
  std::ofstream(run / "manifest.json") << json({{"stages", json::array()}}).dump();
  std::ofstream(elsewhere / "study.ini") << "[study]\nname = elsewhere\n";
  fs::create_symlink(elsewhere / "study.ini", run / "study.ini");
  EXPECT_NE(testing::error_of([&] { build_report(run.path()); }).find("the run's study file"),
            std::string::npos);
  fs::remove(run / "study.ini");
  fs::create_directory(elsewhere / "report");
  fs::create_directory_symlink(elsewhere / "report", run / "report");
  EXPECT_NE(testing::error_of([&] { write_report(run.path()); }).find("the report folder"),
            std::string::npos);
  EXPECT_TRUE(fs::is_empty(elsewhere / "report"));
  fs::remove(run / "report");
  fs::create_directories(run / "report" / "figures");
  std::ofstream(run / "report" / "figures" / "mi_eps0.3.png") << "an earlier report's figure";
  write_report(run.path());
  EXPECT_FALSE(fs::exists(run / "report" / "figures" / "mi_eps0.3.png"));
  EXPECT_TRUE(fs::exists(run / "report" / "report.html"));
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

// A teacher without a projection figure (a TorchScript model off the features/head convention)
// says why, in every format.
TEST(Report, SaysWhyATeacherHasNoProjection) {
  SyntheticRun run;
  run.add(0.0, 2, 0, 0.86, 0.87);
  Report r = run.report();
  TeacherResult t;
  t.id = "teach/eps0-seed0";
  t.projection_note = "--arch 'torchscript:t.pt': no penultimate layer to project";
  r.teachers.push_back(t);
  for (const auto& writer : {markdown_writer(), html_writer(), json_writer()}) {
    const std::string page = writer->render(r);
    EXPECT_NE(page.find("no penultimate layer to project"), std::string::npos) << page;
  }
}

}  // namespace
}  // namespace kd
