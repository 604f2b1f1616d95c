// `kdpipe judge` end to end on teachers a Python user wrote: a good one beats one trained on
// partly shuffled labels within --max-seeds, a killed judge resumes to the same decisions, the same
// model under two names is never said to differ, and the plan and bad options are answered
// before anything runs.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "lib/core/files.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace kd {
namespace {

namespace fs = std::filesystem;
using testing::ProcessResult;

class Judge : public ::testing::Test {
 protected:
  void SetUp() override {
    const ProcessResult r = testing::run_command(
        "/usr/bin/python3 " +
        (testing::source_dir() / "tests/pipelines/judge_teachers.py").string() + " " +
        dir_.path().string());
    ASSERT_EQ(r.status, 0) << "needs Debian's python3-torch and python3-h5py: " << r.output;
  }
  // judge on the test's problem with a small, fast recipe.
  std::string judge(const std::string& teachers, const std::string& out,
                    const std::string& more = "") const {
    return "judge " + teachers + " --student mlp:32 --dataset " + (dir_ / "problem.h5").string() +
           " --val-size 500 --train-subset 600 --epochs 4 --batch-size 64 --jobs 2 --threads 2 "
           "--out " +
           (dir_ / out).string() + " " + more;
  }
  std::string teacher(const std::string& file) const {
    return " --teacher " + (dir_ / file).string();
  }
  testing::TempDir dir_;
};

TEST_F(Judge, AGoodTeacherBeatsAWorseOneAndAKilledJudgeResumesToTheSameDecisions) {
  const std::string both = teacher("good.pt") + teacher("bad.pt");
  const ProcessResult r = testing::run_kdpipe(judge(both, "run", "--json"));
  ASSERT_EQ(r.status, 0) << r.output;  // 0: every comparison decided
  const nlohmann::json d = nlohmann::json::parse(read_text(dir_ / "run/judge.json"));
  EXPECT_EQ(d["outcome"], "decided");
  const nlohmann::json& pair = d["comparisons"][0];
  EXPECT_EQ(pair["family"], "teachers");
  EXPECT_EQ(pair["decision"], "differs");
  EXPECT_GT(pair["estimate_points"].get<double>(), 0);  // good.pt minus bad.pt
  EXPECT_GT(pair["interval_points"][0].get<double>(), 0);
  EXPECT_LE(pair["count"].get<int>(), 10);
  EXPECT_EQ(pair["unit"], "student seeds");
  EXPECT_EQ(d["teachers"][0]["kind"], "torchscript");
  EXPECT_EQ(d["teachers"][0]["path"], (dir_ / "good.pt").string());
  EXPECT_TRUE(d["teachers"][0]["diagnostics"].contains("nll_at_t"));
  EXPECT_TRUE(d["teachers"][0]["smoothing"].is_null());  // not stated, and a file has no record
  EXPECT_EQ(d["comparisons"][1]["family"], "against-alone");
  EXPECT_TRUE(d["comparisons"][1]["b"].is_null());
  // The words say it, teacher by teacher.
  const ProcessResult words = testing::run_kdpipe(judge(both, "run"));
  ASSERT_EQ(words.status, 0) << words.output;
  EXPECT_NE(words.output.find("Best teacher for mlp:32: " + (dir_ / "good.pt").string()),
            std::string::npos)
      << words.output;
  EXPECT_NE(words.output.find("teaches mlp:32 better than"), std::string::npos);
  EXPECT_NE(words.output.find("Ranking the teachers as their students did"), std::string::npos);
  // The report: teachers by identity, every student seed by seed; rebuilt by `kdpipe report`, and
  // `kdpipe status` reads the judge's plan back.
  const nlohmann::json report = nlohmann::json::parse(read_text(dir_ / "run/report/report.json"));
  EXPECT_EQ(report["comparisons"], d["comparisons"]);
  ASSERT_FALSE(report["students"].empty());
  std::set<std::string> folders;
  for (const auto& s : report["students"])
    if (!s["teacher_folder"].is_null()) folders.insert(s["teacher_folder"].get<std::string>());
  EXPECT_EQ(folders.size(), 2U);  // by teacher, not by label smoothing (unknown for both)
  const std::string page = read_text(dir_ / "run/report/report.html");
  EXPECT_NE(page.find("ts-good-"), std::string::npos);
  EXPECT_NE(page.find("<td>differs</td>"), std::string::npos);
  fs::remove_all(dir_ / "run/report");
  const ProcessResult rebuilt = testing::run_kdpipe("report " + (dir_ / "run").string());
  ASSERT_EQ(rebuilt.status, 0) << rebuilt.output;
  EXPECT_NE(rebuilt.output.find("teaches mlp:32 better than"), std::string::npos);
  EXPECT_TRUE(fs::exists(dir_ / "run/report/report.md"));
  // Rebuilt, it names the teachers as typed, as judge.json does.
  EXPECT_EQ(nlohmann::json::parse(read_text(dir_ / "run/report/report.json"))["comparisons"],
            d["comparisons"]);
  // A judge that has not finished is reported as unfinished, never as undecided at max seeds.
  fs::copy(dir_ / "run", dir_ / "partial", fs::copy_options::recursive);
  fs::remove_all(dir_ / "partial/baseline/hard/mlp32-seed2");
  ASSERT_EQ(testing::run_kdpipe("report " + (dir_ / "partial").string()).status, 0);
  const auto partial = nlohmann::json::parse(read_text(dir_ / "partial/report/report.json"));
  EXPECT_EQ(partial["outcome"], "unfinished");
  EXPECT_EQ(partial["stopped_by"], "unfinished");
  // Settings judge refuses in judge.args: the file is named (exit 1), not taken for an option.
  write_text_atomically(dir_ / "partial/judge.args", R"({"args": ["--epochs", "-3"]})");
  const ProcessResult refused = testing::run_kdpipe("status " + (dir_ / "partial").string());
  EXPECT_EQ(refused.status, 1);
  EXPECT_NE(refused.output.find("judge.args: settings judge refuses"), std::string::npos)
      << refused.output;
  const ProcessResult status = testing::run_kdpipe("status " + (dir_ / "run").string());
  ASSERT_EQ(status.status, 0) << status.output;
  const std::size_t stages =
      nlohmann::json::parse(read_text(dir_ / "run/manifest.json"))["stages"].size();
  EXPECT_NE(
      status.output.find(std::to_string(stages) + " stages: " + std::to_string(stages) + " done"),
      std::string::npos)
      << status.output;

  // Killed after 5 stages of its first round, then run again: the same decisions.
  const ProcessResult killed =
      testing::run_kdpipe(judge(both, "killed", "--json"), "KDPIPE_FAULT_KILL_AFTER_STAGES=5");
  EXPECT_NE(killed.status, 0);
  EXPECT_FALSE(fs::exists(dir_ / "killed/judge.json"));
  const ProcessResult resumed = testing::run_kdpipe(judge(both, "killed", "--json"));
  ASSERT_EQ(resumed.status, 0) << resumed.output;
  const nlohmann::json again = nlohmann::json::parse(read_text(dir_ / "killed/judge.json"));
  ASSERT_EQ(again["comparisons"].size(), d["comparisons"].size());
  for (std::size_t i = 0; i < d["comparisons"].size(); ++i) {
    for (const char* key : {"decision", "count", "estimate_points", "interval_points"})
      EXPECT_EQ(again["comparisons"][i][key], d["comparisons"][i][key]) << key;
  }
}

TEST_F(Judge, TheSameModelUnderTwoNamesIsNeverSaidToDiffer) {
  const ProcessResult r = testing::run_kdpipe(
      judge(teacher("good.pt") + teacher("copy.pt"), "same", "--json --max-seeds 5"));
  ASSERT_TRUE(r.status == 0 || r.status == 3) << r.output;
  const nlohmann::json d = nlohmann::json::parse(read_text(dir_ / "same/judge.json"));
  EXPECT_EQ(d["comparisons"][0]["decision"], "equivalent");
  EXPECT_EQ(d["comparisons"][0]["estimate_points"].get<double>(), 0.0);
  ASSERT_EQ(d["notes"].size(), 1U);
  EXPECT_NE(d["notes"][0].get<std::string>().find("are the same model"), std::string::npos);
  // One file named twice is refused before anything runs.
  const ProcessResult twice =
      testing::run_kdpipe(judge(teacher("good.pt") + teacher("good.pt"), "twice"));
  EXPECT_EQ(twice.status, 2);
  EXPECT_NE(twice.output.find("is given twice"), std::string::npos) << twice.output;
  EXPECT_FALSE(fs::exists(dir_ / "twice"));
}

TEST_F(Judge, DryRunPrintsThePlanAndBadOptionsAreRefused) {
  const std::string both = teacher("good.pt") + teacher("bad.pt");
  const ProcessResult plan = testing::run_kdpipe(judge(both, "plan", "--dry-run"));
  ASSERT_EQ(plan.status, 0) << plan.output;
  EXPECT_NE(plan.output.find("round 1: 2 evaluations of a TorchScript teacher, 2 caches"),
            std::string::npos)
      << plan.output;
  EXPECT_NE(plan.output.find("at worst 40 stages (36 student trainings)"), std::string::npos);
  EXPECT_NE(plan.output.find("worst-case time"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir_ / "plan"));
  for (const auto& [more, says] : std::vector<std::pair<std::string, std::string>>{
           {"--precision 0", "--precision"},
           {"--max-seeds 2", "--max-seeds"},
           {"--train-subset -1", "--train-subset"},
           {"--teacher-input pixels", "--teacher-input"},
           {"--student torchscript:none.pt", "--student"},
           {"--val-size 0", "--val-size"},
           {"--temperatures 2 2", "--temperatures"},
           {"--time-limit soon", "--time-limit"}}) {
    const ProcessResult r = testing::run_kdpipe(judge(both, "bad", more));
    EXPECT_EQ(r.status, 2) << more << ": " << r.output;
    EXPECT_NE(r.output.find(says), std::string::npos) << more << ": " << r.output;
  }
  const ProcessResult missing = testing::run_kdpipe(judge(teacher("none.pt"), "bad"));
  EXPECT_EQ(missing.status, 2);
  EXPECT_NE(missing.output.find("no such file or directory"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir_ / "bad"));
}

}  // namespace
}  // namespace kd
