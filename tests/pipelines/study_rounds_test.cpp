// A study that adds student seeds in rounds (study.max-seeds): the verdict's comparisons decided
// by the sequential rule, seeds added only for the comparisons still open, a rerun that replays
// the rounds and runs nothing, and the keys' refusals.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "lib/core/files.h"
#include "tests/pipelines/study_fixture.h"

namespace kd {
namespace {

namespace fs = std::filesystem;
using testing::StudyTest;

std::string with_rounds(std::string text) {
  text.replace(text.find("threads = 2\n"), 12, "threads = 2\nmax-seeds = 5\nprecision = 0.3\n");
  text.replace(text.find("epochs = 2\n"), 11, "epochs = 6\nseeds = 0 1 2\n");
  return text;
}

TEST_F(StudyTest, RoundsAddSeedsForTheOpenComparisonsUntilTheyAreDecided) {
  KD_SKIP_WITHOUT_GNUPLOT();
  write(with_rounds(testing::kTinyStudy));
  const testing::ProcessResult first = run("--plain");
  ASSERT_EQ(first.status, 0) << first.output;
  const nlohmann::json report = nlohmann::json::parse(read_text(dir_ / "run/report/report.json"));
  const nlohmann::json& d = report["decisions"];
  ASSERT_TRUE(d.is_object()) << report.dump();
  EXPECT_EQ(d["max_seeds"], 5);
  EXPECT_EQ(d["first_look"], 3);
  ASSERT_EQ(d["comparisons"].size(), 3U);  // the two teachers; each against training alone
  int64_t most = 0;
  for (const nlohmann::json& c : d["comparisons"]) {
    const std::string decision = c["decision"];
    EXPECT_TRUE(decision == "differs" || decision == "equivalent" || decision == "undecided");
    EXPECT_EQ(c["unit"], "student seeds");
    EXPECT_GE(c["count"].get<int>(), 3);
    EXPECT_LE(c["count"].get<int>(), 5);
    ASSERT_EQ(c["interval_points"].size(), 2U);
    most = std::max<int64_t>(most, c["count"].get<int64_t>());
  }
  // Rounds ran as far as the open comparisons needed: each added one seed for their arms only
  // (the other temperatures keep the first round's 3 seeds).
  int64_t seeds_beyond_first = 0;
  const nlohmann::json manifest = nlohmann::json::parse(read_text(dir_ / "run/manifest.json"));
  for (const auto& stage : manifest["stages"]) {
    const std::string id = stage["id"];
    for (int s = 3; s < 5; ++s)
      seeds_beyond_first +=
          id.size() > 6 && id.substr(id.size() - 6) == "-seed" + std::to_string(s);
  }
  EXPECT_EQ(seeds_beyond_first > 0, most > 3) << first.output;
  const std::string verdict = first.output.substr(first.output.find("verdict:"));
  EXPECT_NE(verdict.find("Rule: paired t over student seeds"), std::string::npos) << verdict;
  EXPECT_NE(verdict.find("not about label smoothing as a recipe"), std::string::npos) << verdict;
  if (most > 3) {
    EXPECT_NE(first.output.find("round 2: "), std::string::npos) << first.output;
  }

  // A rerun replays the rounds from the finished students and runs nothing.
  const testing::ProcessResult again = run("--plain");
  ASSERT_EQ(again.status, 0) << again.output;
  EXPECT_NE(again.output.find("\n0 ran,"), std::string::npos) << again.output;
  EXPECT_EQ(nlohmann::json::parse(read_text(dir_ / "run/report/report.json"))["decisions"], d);
  // status knows the rounds' stages too.
  const testing::ProcessResult status = testing::run_kdpipe("status " + (dir_ / "run").string());
  EXPECT_EQ(status.output.find("pending"), std::string::npos) << status.output;
}

TEST_F(StudyTest, RoundsNeedTheirFirstSeedsListedAndTheLocalExecutor) {
  const std::string rounds = with_rounds(testing::kTinyStudy);
  std::string shifted = rounds;
  shifted.replace(shifted.find("seeds = 0 1 2\n"), 14, "seeds = 1 2 3\n");
  EXPECT_NE(error_for(shifted).find("the listed seeds are the first round: 0 1 … 2"),
            std::string::npos);
  std::string few = rounds;
  few.replace(few.find("max-seeds = 5"), 13, "max-seeds = 1");
  EXPECT_NE(error_for(few).find("study.max-seeds"), std::string::npos);
  std::string sloppy = rounds;
  sloppy.replace(sloppy.find("precision = 0.3"), 15, "precision = 0");
  EXPECT_NE(error_for(sloppy).find("study.precision"), std::string::npos);
  write(rounds);
  const testing::ProcessResult slurm = run("--executor slurm");
  EXPECT_EQ(slurm.status, 2);
  EXPECT_NE(slurm.output.find("need the local executor"), std::string::npos) << slurm.output;
}

}  // namespace
}  // namespace kd
