// Training on several processes (--ranks N): two local ranks give one process's weights up to
// rounding (an MLP, a CNN with BatchNorm, a student); a killed two-rank run resumes to the same
// bytes, or with one rank to the same weights up to rounding; a rank that dies or hangs ends the
// stage with one line naming it, and nothing final-named is left.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "lib/core/files.h"
#include "tests/support/process.h"
#include "tests/support/synthetic.h"
#include "tests/support/temp_dir.h"
#include "tests/support/weights.h"

namespace kd {
namespace {

namespace fs = std::filesystem;
using testing::ProcessResult;
using testing::run_kdpipe;

class Ranks : public ::testing::Test {
 protected:
  // 640 training examples: 20 steps of 32 an epoch.
  void SetUp() override { testing::write_synthetic_mnist(dir_ / "data", 740, 200); }
  std::string data(int epochs) const {
    return " --dataset mnist --data-dir " + (dir_ / "data").string() +
           " --val-size 100 --batch-size 32 --threads 1 --epochs " + std::to_string(epochs) + " ";
  }
  std::string teach(const std::string& out, int ranks, int epochs,
                    const std::string& arch = "mlp:32 --augment shift") const {
    return "teach" + data(epochs) + "--arch " + arch + " --mi-examples 10 --ranks " +
           std::to_string(ranks) + " --out " + (dir_ / out).string();
  }
  void run_ok(const std::string& args, const std::string& env = "") const {
    const ProcessResult r = run_kdpipe(args, env);
    ASSERT_EQ(r.status, 0) << args << "\n" << r.output;
  }
  double relative_difference(const std::string& a, const std::string& b) const {
    return testing::relative_difference(dir_ / a / "model.pt", dir_ / b / "model.pt");
  }
  double test_accuracy(const std::string& run) const { return test(run, "accuracy"); }
  double test(const std::string& run, const std::string& metric) const {
    return nlohmann::json::parse(read_text(dir_ / run / "metrics.json"))["test"][metric];
  }
  testing::TempDir dir_;
};

TEST_F(Ranks, TwoRanksTrainAnMlpAsOneProcessDoes) {
  run_ok(teach("one-20", 1, 1));
  run_ok(teach("two-20", 2, 1));
  EXPECT_LT(relative_difference("two-20", "one-20"), 1e-5);  // after 20 steps
  run_ok(teach("one", 1, 2));
  run_ok(teach("two", 2, 2));
  EXPECT_LT(relative_difference("two", "one"), 1e-4);  // after 2 epochs
  EXPECT_NEAR(test_accuracy("two"), test_accuracy("one"), 0.001);
  // Rank 1 wrote nothing but its log; metrics.json records the ranks.
  EXPECT_TRUE(fs::exists(dir_ / "two/rank-1.log"));
  const auto metrics = nlohmann::json::parse(read_text(dir_ / "two/metrics.json"));
  EXPECT_EQ(metrics["options"]["ranks"], 2);
  EXPECT_NE(read_text(dir_ / "two/train.log").find("rank 0 of 2"), std::string::npos);
  EXPECT_NE(read_text(dir_ / "two/rank-1.log").find("rank 1 of 2"), std::string::npos);
}

TEST_F(Ranks, TwoRanksTrainACnnWithBatchNormToTheSameAccuracy) {
  // Trained until it is stable (a CNN still learning fast changes its accuracy by points for
  // any change at all).
  run_ok(teach("one", 1, 4, "cnn:8"));
  run_ok(teach("two", 2, 4, "cnn:8"));
  ASSERT_GT(test_accuracy("one"), 0.9);
  // BatchNorm normalises over each rank's half of a batch: close, not equal.
  EXPECT_NEAR(test_accuracy("two"), test_accuracy("one"), 0.01);
  EXPECT_NEAR(test("two", "nll"), test("one", "nll"), 0.25 * test("one", "nll"));
}

TEST_F(Ranks, TwoRanksDistillAStudentAsOneProcessDoes) {
  run_ok(teach("teacher", 1, 1));
  run_ok("cache --teacher " + (dir_ / "teacher").string() + " --dataset mnist --data-dir " +
         (dir_ / "data").string() + " --val-size 100 --views 2 --temperatures 4 --threads 1 " +
         "--out " + (dir_ / "cache.h5").string());
  const auto distill = [&](const std::string& out, int ranks) {
    return "distill" + data(2) + "--arch mlp:16 --temperature 4 --cache " +
           (dir_ / "cache.h5").string() + " --ranks " + std::to_string(ranks) + " --out " +
           (dir_ / out).string();
  };
  run_ok(distill("one", 1));
  run_ok(distill("two", 2));
  EXPECT_LT(relative_difference("two", "one"), 1e-4);
  EXPECT_NEAR(test_accuracy("two"), test_accuracy("one"), 0.001);
}

TEST_F(Ranks, AKilledTwoRankTeachResumesToTheSameWeights) {
  run_ok(teach("whole", 2, 2));
  // Killed (every rank) at step 30: in the middle of epoch 2, after the checkpoint of epoch 1.
  const ProcessResult killed = run_kdpipe(teach("killed", 2, 2), "KDPIPE_FAULT_KILL_AT_STEP=30");
  EXPECT_NE(killed.status, 0);
  EXPECT_FALSE(fs::exists(dir_ / "killed/model.pt"));
  EXPECT_FALSE(fs::exists(dir_ / "killed/metrics.json"));
  ASSERT_TRUE(fs::exists(dir_ / "killed/resume.pt"));
  fs::copy(dir_ / "killed", dir_ / "killed-then-one");
  run_ok(teach("killed", 2, 2));
  EXPECT_NE(read_text(dir_ / "killed/train.log").find("resuming after epoch 1 of 2"),
            std::string::npos);
  EXPECT_TRUE(read_text(dir_ / "whole/model.pt") == read_text(dir_ / "killed/model.pt"));
  EXPECT_EQ(test_accuracy("killed"), test_accuracy("whole"));
  // The checkpoint does not depend on the ranks that wrote it: one process resumes it too.
  run_ok(teach("killed-then-one", 1, 2));
  EXPECT_NE(read_text(dir_ / "killed-then-one/train.log").find("resuming after epoch 1 of 2"),
            std::string::npos);
  EXPECT_LT(relative_difference("killed-then-one", "whole"), 1e-4);
}

TEST_F(Ranks, ARankThatDiesIsNamedAndTheStageFails) {
  const ProcessResult r =
      run_kdpipe(teach("run", 2, 2), "KDPIPE_FAULT_RANK=1 KDPIPE_FAULT_KILL_AT_STEP=5");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("rank 1 of 2 was killed by signal 9"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("its last log line:"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir_ / "run/model.pt"));
  EXPECT_FALSE(fs::exists(dir_ / "run/metrics.json"));
}

TEST_F(Ranks, ARankThatHangsIsNamedWithinTheTimeout) {
  const auto start = std::chrono::steady_clock::now();
  const ProcessResult r = run_kdpipe(teach("run", 2, 2) + " --rank-timeout 10",
                                     "KDPIPE_FAULT_RANK=1 KDPIPE_FAULT_STOP_AT_STEP=5");
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("rank 1 of 2 stopped answering"), std::string::npos) << r.output;
  EXPECT_LT(seconds, 40);  // 10 s of timeout, start-up and a few seconds' grace
  EXPECT_FALSE(fs::exists(dir_ / "run/model.pt"));
  EXPECT_FALSE(fs::exists(dir_ / "run/metrics.json"));
}

// Started by torchrun's variables as rank 0 of 2, with no rank 1 ever coming: one line naming
// where the ranks were to meet, after the timeout, and the exit status of a rank that lost the
// others.
TEST_F(Ranks, ARendezvousThatCannotFormIsOneLine) {
  const ProcessResult r =
      run_kdpipe(teach("run", 2, 1) + " --rank-timeout 1",
                 "RANK=0 WORLD_SIZE=2 LOCAL_RANK=0 MASTER_ADDR=127.0.0.1 MASTER_PORT=29517");
  EXPECT_EQ(r.status, 75) << r.output;
  EXPECT_NE(r.output.find("rank 0 of 2 (torchrun): the ranks could not meet at "
                          "tcp:127.0.0.1:29517 (--rank-timeout 1 s)"),
            std::string::npos)
      << r.output;
  EXPECT_FALSE(fs::exists(dir_ / "run/model.pt"));
}

// What every rank refuses (here: data with 2 training examples) is rank 0's own line and
// status, not a second line about rank 0.
TEST_F(Ranks, WhatEveryRankRefusesIsOneLine) {
  std::string args = teach("run", 2, 1);
  args.replace(args.find("--val-size 100"), 14, "--val-size 738");
  const ProcessResult r = run_kdpipe(args);
  EXPECT_EQ(r.status, 2) << r.output;
  const std::size_t first = r.output.find("kdpipe teach: error: ");
  ASSERT_NE(first, std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("kdpipe teach: error: ", first + 1), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("exited with status"), std::string::npos) << r.output;
}

// SIGTERM (as Ctrl-C's SIGINT, which a shell's background job ignores) ends every rank and
// leaves no store folder in $TMPDIR.
TEST_F(Ranks, AnInterruptedRunLeavesNothingBehind) {
  fs::create_directories(dir_ / "tmp");
  const ProcessResult r = testing::run_command(
      "TMPDIR=" + (dir_ / "tmp").string() + " " + testing::kdpipe_binary().string() + " " +
      teach("run", 2, 5000) + " > /dev/null 2>&1 & pid=$!; sleep 4; kill -TERM $pid; wait $pid; " +
      "echo status $?; sleep 1; pgrep -f -- '^" + fs::canonical(testing::kdpipe_binary()).string() +
      " teach.*" + (dir_ / "run").string() + "' || echo none left");
  EXPECT_NE(r.output.find("status 143"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("none left"), std::string::npos) << r.output;
  EXPECT_TRUE(fs::is_empty(dir_ / "tmp"));
}

TEST_F(Ranks, ABatchTheRanksCannotShareIsRefused) {
  const ProcessResult r = run_kdpipe(teach("run", 3, 1));
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("--ranks: 3 does not divide the batch size 32"), std::string::npos)
      << r.output;
  std::string small = teach("run", 2, 1);
  small.replace(small.find("--batch-size 32"), 15, "--batch-size 2");
  const ProcessResult two = run_kdpipe(small);
  EXPECT_EQ(two.status, 2);
  EXPECT_NE(two.output.find("--ranks: 2 ranks need batches of at least 4 examples"),
            std::string::npos)
      << two.output;
  const ProcessResult zero = run_kdpipe(teach("run", 0, 1));
  EXPECT_EQ(zero.status, 2);
  EXPECT_NE(zero.output.find("--ranks: expected a count"), std::string::npos) << zero.output;
}

}  // namespace
}  // namespace kd
