// The report of a real (tiny) study run: recomputed from the stages' own metrics files.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <torch/script.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "lib/core/error.h"
#include "lib/core/files.h"
#include "lib/data/datasets.h"
#include "pipelines/study/stages.h"
#include "pipelines/study/study.h"
#include "tests/pipelines/study_fixture.h"
#include "tests/support/paths.h"
#include "tests/support/process.h"
#include "tests/support/synthetic.h"
#include "tests/support/temp_dir.h"

namespace kd {
namespace {

namespace fs = std::filesystem;
using testing::kTinyStudy;
using testing::StudyTest;

TEST_F(StudyTest, ReportRecomputesFromTheStagesMetrics) {
  KD_SKIP_WITHOUT_GNUPLOT();
  // Its students learn from top-3 caches (whole rows are every other study test's).
  std::string study = kTinyStudy;
  const std::string temperatures = "temperatures = 1 4\n";
  study.replace(study.find(temperatures), temperatures.size(), temperatures + "top-k = 3\n");
  write(study);
  const testing::ProcessResult r = run();
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("verdict:"), std::string::npos) << r.output;
  const fs::path dir = dir_ / "run" / "report";
  const auto report = nlohmann::json::parse(read_text(dir / "report.json"));
  EXPECT_EQ(report["schema"], "kdpipe-report");
  EXPECT_EQ(report["schema_version"], 2);
  // The two single-seed teachers, compared on the test examples from their predictions.pt.
  ASSERT_EQ(report["teacher_comparisons"].size(), 1u);
  EXPECT_EQ(report["teacher_comparisons"][0]["examples"], 60);
  EXPECT_NE(report["verdict"].dump().find("McNemar's exact test"), std::string::npos);
  ASSERT_EQ(report["teachers"].size(), 2u);
  ASSERT_EQ(report["students"].size(), 5u);  // 2 teachers x 2 temperatures, and hard labels alone
  // The caches and what they cost: 3 classes (int16) and their values at 2 temperatures (float16).
  ASSERT_EQ(report["caches"].size(), 2u);
  for (const auto& c : report["caches"]) {
    EXPECT_EQ(c["top_k"], 3);
    EXPECT_EQ(c["top_k_rule"], "uniform");
    EXPECT_EQ(c["examples"], 250);
    EXPECT_EQ(c["views"], 2);
    EXPECT_NEAR(c["bytes_per_example_view"].get<double>(), 2 * 3 + 2 * 3 * 2, 0.5);
  }
  EXPECT_NE(read_text(dir / "report.md").find("| top-3, uniform | 18.0 |"), std::string::npos);
  EXPECT_FALSE(report["verdict"].empty());
  for (const char* key : {"id", "arch", "smoothing", "seed", "test_accuracy", "test_nll",
                          "test_ece", "temperature", "test_ece_after_temperature", "mi_final",
                          "mi_per_epoch", "stability", "reliability", "projection"}) {
    EXPECT_TRUE(report["teachers"][0].contains(key)) << key;
  }
  for (const char* key :
       {"kind", "arch", "teacher_smoothing", "temperature", "alpha", "smoothing", "n",
        "accuracy_mean", "accuracy_min", "accuracy_max", "ece_mean", "gamma_mean", "seeds",
        "accuracies", "val_accuracies", "val_accuracy_mean", "accuracy_ci95"}) {
    EXPECT_TRUE(report["students"][0].contains(key)) << key;
  }
  // Up to report.projection-examples training and test examples of each of the study's three
  // report.projection-classes.
  const Dataset data = load_dataset(DataOptions("mnist").data_dir(dir_ / "data").val_size(50));
  std::size_t expected = 0;
  for (const ImageSet* set : {&data.train, &data.test}) {
    for (int64_t c : {3, 1, 4}) {
      expected +=
          static_cast<std::size_t>(std::min<int64_t>(5, set->labels.eq(c).sum().item<int64_t>()));
    }
  }
  const auto& projection = report["teachers"][0]["projection"];
  EXPECT_EQ(projection["class_indices"], nlohmann::json({3, 1, 4}));
  EXPECT_EQ(projection["classes"][0], data.info.class_names[3]);
  EXPECT_EQ(projection["points"].size(), expected);

  // Every group's figures, recomputed from the stages' own metrics.json files.
  const auto manifest = nlohmann::json::parse(read_text(dir_ / "run" / "manifest.json"));
  for (const auto& g : report["students"]) {
    std::vector<double> acc;
    for (const auto& stage : manifest["stages"]) {
      if (stage["kind"] == "teach" || stage["kind"] == "cache") continue;
      const auto m =
          nlohmann::json::parse(read_text(dir_ / "run" / stage["output"].get<std::string>()));
      const bool distilled = stage["kind"] == "distill";
      if (distilled != (g["kind"] == "distill")) continue;
      if (distilled && (m["teacher"]["smoothing"] != g["teacher_smoothing"] ||
                        m["options"]["temperature"] != g["temperature"])) {
        continue;
      }
      acc.push_back(m["test"]["accuracy"].get<double>());
    }
    ASSERT_FALSE(acc.empty());
    double mean = 0;
    for (double a : acc) mean += a / acc.size();
    EXPECT_NEAR(g["accuracy_mean"].get<double>(), mean, 1e-12);
    EXPECT_EQ(g["n"], acc.size());
    EXPECT_DOUBLE_EQ(g["accuracy_min"].get<double>(), *std::min_element(acc.begin(), acc.end()));
  }
  for (const auto& t : report["teachers"]) {
    const auto m = nlohmann::json::parse(
        read_text(dir_ / "run" / t["id"].get<std::string>() / "metrics.json"));
    EXPECT_EQ(t["test_accuracy"], m["test"]["accuracy"]);
    EXPECT_EQ(t["mi_per_epoch"], m["mutual_information"]["per_epoch"]);
  }

  // Each listed figure exists, and its data file holds the run's values.
  ASSERT_GE(report["figures"].size(), 3u);
  for (const auto& f : report["figures"]) {
    for (const char* part : {"png", "svg", "gp", "tsv"}) {
      EXPECT_TRUE(fs::exists(dir / f[part].get<std::string>())) << f[part];
    }
  }
  const std::string tsv = read_text(dir / "figures" / "student_accuracy_vs_temperature.tsv");
  for (const auto& g : report["students"]) {
    std::ostringstream v;
    v << g["accuracy_mean"].get<double>();
    EXPECT_NE(tsv.find(v.str()), std::string::npos) << v.str() << " not in\n" << tsv;
  }
  const std::string mi = read_text(dir / "figures" / "teacher_mutual_information.tsv");
  std::ostringstream first_mi;
  first_mi << report["teachers"][0]["mi_per_epoch"][0].get<double>();
  EXPECT_NE(mi.find(first_mi.str()), std::string::npos) << mi;
  // Each teacher keeps its colour in every figure: ε = 0 is the first colour, ε = 0.1 the second.
  for (const auto& [name, label] :
       {std::pair<std::string, std::string>{"student_accuracy_vs_temperature", "teacher eps "},
        {"teacher_mutual_information", "eps "},
        {"teacher_reliability", "eps "}}) {
    const std::string gp = read_text(dir / "figures" / (name + ".gp"));
    EXPECT_NE(gp.find("lc rgb '#1f77b4' title '" + label + "0,"), std::string::npos) << gp;
    EXPECT_NE(gp.find("lc rgb '#d62728' title '" + label + "0.1,"), std::string::npos) << gp;
  }

  // The page stands alone: nothing fetched from outside the report folder.
  const std::string html = read_text(dir / "report.html");
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  for (auto at = html.find("src=\""); at != std::string::npos; at = html.find("src=\"", at + 1)) {
    const std::string src = html.substr(at + 5, html.find('"', at + 5) - at - 5);
    EXPECT_EQ(src.rfind("figures/", 0), 0u) << src;
    EXPECT_TRUE(fs::exists(dir / src)) << src;
  }
  // The Markdown shows the report's numbers, rounded as it rounds them.
  const std::string md = read_text(dir / "report.md");
  char teacher_acc[16];
  std::snprintf(teacher_acc, sizeof teacher_acc, "%.4f",
                report["teachers"][0]["test_accuracy"].get<double>());
  EXPECT_NE(md.find(teacher_acc), std::string::npos) << md;
  EXPECT_NE(md.find(report["verdict"][0].get<std::string>()), std::string::npos);
}

// Without a validation split no teacher fits a temperature: the report says so instead of reading
// a missing field.
TEST_F(StudyTest, ReportsAStudyWithoutValidationSplit) {
  KD_SKIP_WITHOUT_GNUPLOT();
  write(edited("val-size = 50", "val-size = 0"));
  const testing::ProcessResult r = run();
  ASSERT_EQ(r.status, 0) << r.output;
  const auto report = nlohmann::json::parse(read_text(dir_ / "run" / "report" / "report.json"));
  EXPECT_TRUE(report["teachers"][0]["temperature"].is_null());
  EXPECT_TRUE(fs::exists(dir_ / "run" / "report" / "report.html"));
}

}  // namespace
}  // namespace kd
