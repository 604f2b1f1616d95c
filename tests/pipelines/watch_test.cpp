// Watching a run: the live view `kdpipe run` draws on a terminal (and not in a pipe), and
// `kdpipe status` during a run, after it was killed, after a stage failed, and on a SLURM run.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <thread>

#include "lib/core/file_lock.h"
#include "lib/core/files.h"
#include "lib/core/stage_progress.h"
#include "pipelines/study/live_view.h"
#include "tests/pipelines/study_fixture.h"

namespace kd {
namespace {

namespace fs = std::filesystem;
using testing::StudyTest;

Stage stage(const std::string& id, StageKind kind) {
  Stage s;
  s.id = id;
  s.kind = kind;
  return s;
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(LiveView, ShowsEachRunningStageAndTheWholeRun) {
  testing::TempDir dir;
  std::FILE* null = std::fopen("/dev/null", "w");
  ASSERT_NE(null, nullptr);
  {
    LiveView view(null, null,
                  {stage("teach/a", StageKind::teach), stage("teach/b", StageKind::teach),
                   stage("cache/a", StageKind::cache)},
                  dir.path(), 2);
    view.on_state("teach/a", StageState::running);
    std::vector<std::string> block = view.block(200);
    ASSERT_EQ(block.size(), 2u);
    EXPECT_TRUE(has(block[0], "teach/a") && has(block[0], "starting")) << block[0];
    EXPECT_TRUE(has(block[1], "[0/3 stages done, 1 running]")) << block[1];
    EXPECT_TRUE(has(block[1], "ETA at least")) << block[1];  // no stage of any kind has ended

    StageProgress p;
    p.task = "epoch 3/15";
    p.fraction = 0.4;
    p.items_per_second = 1234;
    p.eta_seconds = 90;
    ensure_directory(dir / "teach/a");
    write_progress(dir / "teach/a/progress.json", p);
    block = view.block(200);
    EXPECT_TRUE(has(block[0], "epoch 3/15") && has(block[0], " 40%") &&
                has(block[0], "1234 img/s") && has(block[0], "ETA 1:30"))
        << block[0];

    view.on_state("teach/a", StageState::done);
    view.on_state("teach/b", StageState::done);  // found done: it never ran here
    block = view.block(200);
    ASSERT_EQ(block.size(), 1u);
    EXPECT_TRUE(has(block[0], "[2/3 stages done, 0 running]")) << block[0];
    EXPECT_TRUE(has(block[0], "ETA at least 0:00")) << block[0];  // no cache stage ran yet
    view.on_state("cache/a", StageState::running);
    for (const std::string& line : view.block(12)) EXPECT_LE(line.size(), 12u) << line;
    view.log("ran  teach/a in 1.0 s");
  }
  std::fclose(null);
}

TEST(LiveView, EstimatesPendingStagesByTheirKind) {
  testing::TempDir dir;
  std::FILE* null = std::fopen("/dev/null", "w");
  {
    LiveView view(null, null,
                  {stage("teach/a", StageKind::teach), stage("teach/b", StageKind::teach)},
                  dir.path(), 1);
    view.on_state("teach/a", StageState::running);
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    view.on_state("teach/a", StageState::done);
    // One teacher took ~1 s: the other, pending, is estimated alike.
    const std::string overall = view.block(200).back();
    EXPECT_TRUE(has(overall, "[1/2 stages done, 0 running]") && has(overall, "ETA 0:01"))
        << overall;
  }
  std::fclose(null);
}

TEST_F(StudyTest, LiveProgressOnATerminalPlainLinesElsewhere) {
  KD_SKIP_WITHOUT_GNUPLOT();
  const fs::path screen = dir_ / "screen.txt";
  const testing::ProcessResult r = testing::run_command(
      "/usr/bin/python3 " + (testing::source_dir() / "tests/pipelines/run_in_pty.py").string() +
      " " + screen.string() + " " + testing::kdpipe_binary().string() + " run " +
      (dir_ / "study.ini").string() + " --out " + (dir_ / "run").string());
  ASSERT_EQ(r.status, 0) << r.output;
  const std::string seen = read_text(screen);
  EXPECT_TRUE(has(seen, "\033[K")) << seen;                     // redrawn in place
  EXPECT_TRUE(has(seen, " stages done, ")) << seen;             // the overall line
  EXPECT_TRUE(has(seen, "  teach/eps0-seed0 ")) << seen;        // a running stage's line
  EXPECT_TRUE(has(seen, "ran  teach/eps0-seed0 in ")) << seen;  // and the plain lines
  EXPECT_TRUE(has(seen, "9 ran, 0 skipped")) << seen;
  // Piped (the fixture's run), --plain on a terminal: plain lines only.
  const testing::ProcessResult piped = run();
  EXPECT_FALSE(has(piped.output, "\033[")) << piped.output;
  fs::remove(screen);
  ASSERT_EQ(
      testing::run_command(
          "/usr/bin/python3 " + (testing::source_dir() / "tests/pipelines/run_in_pty.py").string() +
          " " + screen.string() + " " + testing::kdpipe_binary().string() + " run " +
          (dir_ / "study.ini").string() + " --out " + (dir_ / "run").string() + " --plain")
          .status,
      0);
  EXPECT_FALSE(has(read_text(screen), "\033[")) << read_text(screen);
}

class StatusTest : public StudyTest {
 protected:
  nlohmann::json status_json() const {
    const testing::ProcessResult r =
        testing::run_kdpipe("status " + (dir_ / "run").string() + " --json");
    EXPECT_EQ(r.status, 0) << r.output;
    return nlohmann::json::parse(r.output);
  }
  static const nlohmann::json* find_stage(const nlohmann::json& status, const std::string& state) {
    for (const auto& s : status["stages"]) {
      if (s["state"] == state) return &s;
    }
    return nullptr;
  }
};

TEST_F(StatusTest, DuringARunAndAfterItIsKilled) {
  write(edited("epochs = 1\n", "epochs = 5000\n"));  // teachers long enough to watch
  const testing::ProcessResult started = testing::run_command(
      testing::kdpipe_binary().string() + " run " + (dir_ / "study.ini").string() + " --out " +
      (dir_ / "run").string() + " > " + (dir_ / "run.log").string() + " 2>&1 & echo $!");
  const pid_t pid = std::stoi(started.output);
  nlohmann::json running;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (std::chrono::steady_clock::now() < deadline) {
    if (fs::exists(dir_ / "run" / "study.ini")) {
      const nlohmann::json status = status_json();
      const nlohmann::json* r = find_stage(status, "running");
      if (r && !(*r)["progress"].is_null()) {
        running = status;
        break;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_FALSE(running.is_null()) << read_text(dir_ / "run.log");
  EXPECT_EQ(running["run_pid"], pid);
  const nlohmann::json& stage = *find_stage(running, "running");
  EXPECT_EQ(stage["kind"], "teach");
  EXPECT_EQ(stage["progress"]["task"].get<std::string>().rfind("epoch ", 0), 0u) << stage;
  EXPECT_GE(stage["progress"]["fraction"].get<double>(), 0.0);
  const nlohmann::json* waiting = find_stage(running, "pending");
  ASSERT_NE(waiting, nullptr);
  const std::string table = testing::run_kdpipe("status " + (dir_ / "run").string()).output;
  EXPECT_TRUE(has(table, "kdpipe run is working on it (pid " + std::to_string(pid) + ")")) << table;
  EXPECT_TRUE(has(table, "running") && has(table, "epoch ")) << table;

  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  const std::string id = stage["id"];
  for (int i = 0; i < 100 && lock_holder(dir_ / "run" / id / "stage.lock") != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const nlohmann::json after = status_json();
  EXPECT_TRUE(after["run_pid"].is_null()) << after;
  bool found = false;
  for (const auto& s : after["stages"]) {
    if (s["id"] != id) continue;
    found = true;
    EXPECT_EQ(s["state"], "interrupted") << s;
    EXPECT_TRUE(has(s["detail"], "the next kdpipe run resumes it")) << s;
  }
  EXPECT_TRUE(found);
  EXPECT_TRUE(has(testing::run_kdpipe("status " + (dir_ / "run").string()).output,
                  "no kdpipe run is working on it now"));
}

TEST_F(StatusTest, AfterAStageFailed) {
  // A data folder without the dataset's files: the study plans, its first stage fails.
  fs::create_directories(dir_ / "nodata");
  write(edited("data-dir = data", "data-dir = nodata"));
  ASSERT_EQ(run().status, 1);
  const nlohmann::json status = status_json();
  for (const auto& s : status["stages"]) {
    if (s["id"] == "teach/eps0-seed0") {
      EXPECT_EQ(s["state"], "failed") << s;
      EXPECT_TRUE(has(s["detail"], "nodata")) << s;  // the log's last line: the stage's error
    }
    if (s["id"] == "cache/eps0-seed0") {
      EXPECT_EQ(s["state"], "blocked") << s;
      EXPECT_EQ(s["detail"], "teach/eps0-seed0 failed") << s;
    }
  }
  const testing::ProcessResult table = testing::run_kdpipe("status " + (dir_ / "run").string());
  EXPECT_TRUE(has(table.output, "9 stages: 3 failed, 6 blocked")) << table.output;
  const testing::ProcessResult none = testing::run_kdpipe("status " + (dir_ / "data").string());
  EXPECT_EQ(none.status, 1);
  EXPECT_TRUE(has(none.output, "not a run directory")) << none.output;
}

// SLURM stand-ins that run nothing: sbatch hands out job ids, squeue says job 1 runs and the rest
// wait for it.
const char* kQueueingSbatch = R"(#!/usr/bin/env bash
n=$(( $(cat "$SBATCH_LOG" 2> /dev/null | wc -l) + 1 ))
echo "$n $*" >> "$SBATCH_LOG"
echo "$n;cluster"
)";
const char* kSqueue = R"sh(#!/usr/bin/env bash
for id in $(seq 1 "$(wc -l < "$SBATCH_LOG")"); do
  if [ "$id" = 1 ]; then echo "1 RUNNING None"; else echo "$id PENDING Dependency"; fi
done
)sh";

TEST_F(StatusTest, OnASlurmRunSubmittedByKdpipe) {
  const fs::path bin = dir_ / "bin";
  write_text_atomically(bin / "sbatch", kQueueingSbatch);
  write_text_atomically(bin / "squeue", kSqueue);
  for (const char* tool : {"sbatch", "squeue"})
    fs::permissions(bin / tool, fs::perms::owner_exec, fs::perm_options::add);
  const std::string env =
      "PATH=" + bin.string() + ":$PATH SBATCH_LOG=" + (dir_ / "sbatch.log").string();
  const testing::ProcessResult submitted = run("--executor slurm --submit", env);
  ASSERT_EQ(submitted.status, 0) << submitted.output;
  EXPECT_TRUE(has(submitted.output, "submitted 9 stage jobs; the report follows as job 10"))
      << submitted.output;
  const testing::ProcessResult r =
      testing::run_kdpipe("status " + (dir_ / "run").string() + " --json", env);
  ASSERT_EQ(r.status, 0) << r.output;
  const nlohmann::json status = nlohmann::json::parse(r.output);
  EXPECT_EQ(status["slurm"], true);
  EXPECT_EQ(status["squeue"], true);
  for (const auto& s : status["stages"]) {
    if (s["id"] == "teach/eps0-seed0") {
      EXPECT_EQ(s["job"], "1");
      EXPECT_EQ(s["state"], "running") << s;
    } else {
      EXPECT_EQ(s["state"], "queued") << s;
      EXPECT_TRUE(has(s["queue_state"], "PENDING (Dependency)")) << s;
    }
  }
  // Without squeue the jobs are still named; their states are not known.
  const testing::ProcessResult blind =
      testing::run_kdpipe("status " + (dir_ / "run").string(), "PATH=/usr/bin:/bin");
  EXPECT_TRUE(has(blind.output, "squeue did not answer")) << blind.output;
  // --submit belongs to the SLURM executor.
  EXPECT_EQ(run("--submit").status, 2);
}

}  // namespace
}  // namespace kd
