// Waiting for a round's SLURM jobs (pipelines/study/slurm_wait.h), against a stand-in squeue: a
// stage whose job ended done is done, one whose stage failed says its log's last line, one whose
// job left the queue without finishing it (cancelled) is failed after one more look, and a stage
// reading a failed one is blocked. No SLURM needed; tests/slurm runs the real thing.
#include "pipelines/study/slurm_wait.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>

#include "lib/core/error.h"
#include "lib/core/files.h"
#include "tests/support/paths.h"
#include "tests/support/temp_dir.h"

namespace kd {
namespace {

namespace fs = std::filesystem;

Stage stage(const std::string& id, StageKind kind, std::vector<std::string> deps, bool fail) {
  Stage s;
  s.id = id;
  s.kind = kind;
  s.deps = std::move(deps);
  s.args = {fail ? "fail" : to_string(kind)};
  s.out = id;
  s.output = id + "/metrics.json";
  s.input_hash = "hash-of-" + id;
  return s;
}

// squeue lists job 14 for its first two answers, then nothing; or, with FAIL, never answers.
const char* kSqueue = R"(#!/usr/bin/env bash
[ -n "$SQUEUE_FAIL" ] && exit 1
n=$(( $(cat "$SQUEUE_CALLS" 2> /dev/null || echo 0) + 1 ))
echo "$n" > "$SQUEUE_CALLS"
[ "$n" -le 2 ] && echo "14 PENDING Priority"
exit 0
)";

class SlurmWaitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    write_text_atomically(dir_ / "bin" / "squeue", kSqueue);
    fs::permissions(dir_ / "bin" / "squeue", fs::perms::owner_exec, fs::perm_options::add);
    path_ = std::getenv("PATH");
    ::setenv("PATH", ((dir_ / "bin").string() + ":" + path_).c_str(), 1);
    ::setenv("SQUEUE_CALLS", (dir_ / "calls").string().c_str(), 1);
    // teach/a finished in its job; teach/b failed in its; the others never ran (cancelled).
    stages_ = {stage("teach/a", StageKind::teach, {}, false),
               stage("teach/b", StageKind::teach, {}, true),
               stage("distill/b/s0", StageKind::distill, {"teach/b"}, false),
               stage("baseline/hard", StageKind::baseline, {}, false)};
    ExecuteOptions o;
    o.run_dir = dir_.path() / "run";
    o.kdpipe = fs::path(KD_TEST_SOURCE_DIR) / "tests/pipelines/stand_in_kdpipe.sh";
    o.threads = 1;
    execute_stages({stages_[0], stages_[1]}, o, [](const std::string&) {});
    write_text_atomically(o.run_dir / "slurm" / "submitted.tsv",
                          "11\tteach/a\n12\tteach/b\n13\tdistill/b/s0\n14\tbaseline/hard\n");
  }
  void TearDown() override {
    ::setenv("PATH", path_.c_str(), 1);
    ::unsetenv("SQUEUE_FAIL");
  }
  testing::TempDir dir_;
  std::string path_;
  std::vector<Stage> stages_;
};

TEST_F(SlurmWaitTest, EachStageEndsAsItsJobLeftIt) {
  std::string log;
  SlurmWait wait;
  wait.poll_seconds = 0.01;
  const std::vector<StageOutcome> out = wait_for_slurm_jobs(
      stages_, dir_.path() / "run", wait, [&](const std::string& line) { log += line + "\n"; });
  ASSERT_EQ(out.size(), 4U);
  std::map<std::string, StageOutcome> by_id;
  for (const StageOutcome& o : out) by_id[o.id] = o;
  EXPECT_EQ(by_id["teach/a"].state, StageState::done);
  EXPECT_EQ(by_id["teach/b"].state, StageState::failed);
  EXPECT_NE(by_id["teach/b"].reason.find("failing as asked"), std::string::npos)
      << by_id["teach/b"].reason;
  EXPECT_EQ(by_id["distill/b/s0"].state, StageState::blocked);
  EXPECT_EQ(by_id["distill/b/s0"].reason, "teach/b failed");
  EXPECT_EQ(by_id["baseline/hard"].state, StageState::failed);
  EXPECT_NE(by_id["baseline/hard"].reason.find("its job 14 left the queue without finishing it"),
            std::string::npos)
      << by_id["baseline/hard"].reason;
  // Job 14 was waited for while squeue listed it: its end came after two more looks.
  EXPECT_GE(std::stoi(read_text(dir_ / "calls")), 4) << log;
  EXPECT_NE(log.find("done  teach/a (job 11)"), std::string::npos) << log;
}

TEST_F(SlurmWaitTest, ASilentSqueueEndsTheWaitWithOneLine) {
  ::setenv("SQUEUE_FAIL", "1", 1);
  SlurmWait wait;
  wait.poll_seconds = 0.01;
  wait.squeue_patience_seconds = 0.05;
  try {
    wait_for_slurm_jobs(stages_, dir_.path() / "run", wait, [](const std::string&) {});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("squeue has not answered for 0.05 s"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace kd
