// Training that resumes where it was killed: teach and distill, killed (SIGKILL) right after the
// checkpoint of epoch 2 of 4, then run again with the same options, end with the same weights
// and predictions, byte for byte, as runs never killed; a checkpoint of other options is not
// resumed; `kdpipe status` says from which epoch an interrupted stage resumes.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "lib/core/files.h"
#include "tests/pipelines/study_fixture.h"
#include "tests/support/process.h"
#include "tests/support/synthetic.h"
#include "tests/support/temp_dir.h"

namespace kd {
namespace {

namespace fs = std::filesystem;
using testing::ProcessResult;
using testing::run_kdpipe;
using testing::StudyTest;

const char* kKill = "KDPIPE_FAULT_KILL_AFTER_EPOCHS=2";

class Resume : public ::testing::Test {
 protected:
  void SetUp() override { testing::write_synthetic_mnist(dir_ / "data", 400, 100); }
  std::string data() const {
    return " --dataset mnist --data-dir " + (dir_ / "data").string() +
           " --val-size 100 --epochs 4 --threads 1 ";
  }
  std::string teach(const std::string& out, const std::string& more = "") const {
    return "teach" + data() + "--arch mlp:32 --augment shift --mi-examples 10 " + more + " --out " +
           (dir_ / out).string();
  }
  std::string distill(const std::string& out) const {
    return "distill" + data() + "--arch mlp:16 --cache " + (dir_ / "cache.h5").string() +
           " --temperature 4 --out " + (dir_ / out).string();
  }
  // The files of two finished runs that must be equal byte for byte, and their epoch records
  // (all but the times).
  void expect_same(const std::string& a, const std::string& b) const {
    for (const char* file : {"model.pt", "predictions.pt"}) {
      EXPECT_TRUE(read_text(dir_ / a / file) == read_text(dir_ / b / file)) << b << "/" << file;
    }
    const auto ma = nlohmann::json::parse(read_text(dir_ / a / "metrics.json"));
    const auto mb = nlohmann::json::parse(read_text(dir_ / b / "metrics.json"));
    ASSERT_EQ(ma["epochs"].size(), 4U);
    ASSERT_EQ(mb["epochs"].size(), 4U);
    for (std::size_t i = 0; i < 4; ++i) {
      for (const char* key : {"epoch", "loss", "train_accuracy", "lr", "val_accuracy"}) {
        if (ma["epochs"][i].contains(key)) {
          EXPECT_EQ(ma["epochs"][i][key], mb["epochs"][i][key]) << b << " epoch " << i << key;
        }
      }
    }
    EXPECT_EQ(ma["test"], mb["test"]);
    EXPECT_FALSE(fs::exists(dir_ / b / "resume.pt"));  // finished: nothing to resume
  }
  testing::TempDir dir_;
};

TEST_F(Resume, AKilledTeachAndDistillEndAsRunsNeverKilled) {
  ASSERT_EQ(testing::run_kdpipe(teach("whole")).status, 0);
  const ProcessResult killed = testing::run_kdpipe(teach("killed"), kKill);
  EXPECT_NE(killed.status, 0);
  EXPECT_FALSE(fs::exists(dir_ / "killed/metrics.json"));
  ASSERT_TRUE(fs::exists(dir_ / "killed/resume.pt"));
  EXPECT_EQ(nlohmann::json::parse(read_text(dir_ / "killed/resume.json"))["epochs_done"], 2);
  const ProcessResult resumed = testing::run_kdpipe(teach("killed"));
  ASSERT_EQ(resumed.status, 0) << resumed.output;
  EXPECT_NE(read_text(dir_ / "killed/train.log").find("resuming after epoch 2 of 4"),
            std::string::npos);
  expect_same("whole", "killed");
  const auto mi = [&](const std::string& run) {
    return nlohmann::json::parse(read_text(dir_ / run / "metrics.json"))["mutual_information"];
  };
  EXPECT_EQ(mi("whole")["per_epoch"], mi("killed")["per_epoch"]);

  // A student of the teacher, killed and resumed the same way.
  ASSERT_EQ(testing::run_kdpipe("cache --teacher " + (dir_ / "whole").string() +
                                " --dataset mnist "
                                "--data-dir " +
                                (dir_ / "data").string() +
                                " --val-size 100 --views 2 --temperatures 4 --threads 1 --out " +
                                (dir_ / "cache.h5").string())
                .status,
            0);
  ASSERT_EQ(testing::run_kdpipe(distill("student")).status, 0);
  EXPECT_NE(testing::run_kdpipe(distill("student-killed"), kKill).status, 0);
  ASSERT_TRUE(fs::exists(dir_ / "student-killed/resume.pt"));
  ASSERT_EQ(testing::run_kdpipe(distill("student-killed")).status, 0);
  expect_same("student", "student-killed");
}

// Killed in the middle of its third epoch (300 training images, batches of 128: 3 steps an epoch;
// step 8 is the third epoch's second): the rerun goes on after epoch 2 and ends as if never killed.
TEST_F(Resume, AKillInTheMiddleOfAnEpochLosesOnlyThatEpoch) {
  ASSERT_EQ(testing::run_kdpipe(teach("whole")).status, 0);
  EXPECT_NE(testing::run_kdpipe(teach("killed"), "KDPIPE_FAULT_KILL_AT_STEP=8").status, 0);
  EXPECT_EQ(nlohmann::json::parse(read_text(dir_ / "killed/resume.json"))["epochs_done"], 2);
  ASSERT_EQ(testing::run_kdpipe(teach("killed")).status, 0);
  expect_same("whole", "killed");
}

TEST_F(Resume, ACheckpointOfOtherOptionsIsNotResumed) {
  EXPECT_NE(testing::run_kdpipe(teach("run"), kKill).status, 0);
  ASSERT_TRUE(fs::exists(dir_ / "run/resume.pt"));
  // Another learning rate: a different training, started from its first epoch.
  ASSERT_EQ(testing::run_kdpipe(teach("run", "--lr 0.05")).status, 0);
  EXPECT_EQ(read_text(dir_ / "run/train.log").find("resuming"), std::string::npos);
  ASSERT_EQ(testing::run_kdpipe(teach("fresh", "--lr 0.05")).status, 0);
  expect_same("fresh", "run");
}

// In a study: students killed after their first epoch fail the run; status says from where they
// resume, and the next run resumes them to the results of a run never killed.
TEST_F(StudyTest, KilledStudentStagesResumeAfterTheirLastEpoch) {
  KD_SKIP_WITHOUT_GNUPLOT();
  ASSERT_EQ(run().status, 0);
  const ProcessResult killed =
      run_kdpipe("run " + (dir_ / "study.ini").string() + " --out " + (dir_ / "killed").string(),
                 "KDPIPE_FAULT_KILL_AFTER_EPOCHS=1");
  EXPECT_EQ(killed.status, 1) << killed.output;
  const ProcessResult status = run_kdpipe("status " + (dir_ / "killed").string());
  EXPECT_NE(status.output.find("resumable after epoch 1 of 2"), std::string::npos) << status.output;
  const ProcessResult resumed =
      run_kdpipe("run " + (dir_ / "study.ini").string() + " --out " + (dir_ / "killed").string());
  ASSERT_EQ(resumed.status, 0) << resumed.output;
  const std::string student = "distill/eps0-seed0/mlp8-T4-a1-seed0";
  EXPECT_NE(read_text(dir_ / "killed" / student / "train.log").find("resuming after epoch 1 of 2"),
            std::string::npos);
  for (const char* file : {"model.pt", "predictions.pt"}) {
    EXPECT_TRUE(read_text(dir_ / "run" / student / file) ==
                read_text(dir_ / "killed" / student / file))
        << file;
  }
}

}  // namespace
}  // namespace kd
