// A real one-node SLURM cluster (tests/slurm/cluster.sh: munged, slurmctld, slurmd) runs the tiny
// study, its caches in 2 shards each and its teachers on 2 ranks (srun), with `--executor slurm
// --submit`; its results must equal a local run's, byte for byte. `kdpipe judge --executor slurm`
// submits round after round and reaches a local judge's decisions. Skips, saying why, where the
// daemons cannot start (not root, SLURM not installed). The stand-in tests (study_run_test.cpp,
// watch_test.cpp) cover machines without it.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "lib/core/files.h"
#include "tests/pipelines/study_fixture.h"

namespace kd {
namespace {

namespace fs = std::filesystem;
using testing::StudyTest;

// The job id submit.sh recorded for a stage.
std::string submitted_job(const fs::path& run_dir, const std::string& stage) {
  std::istringstream lines(read_text(run_dir / "slurm" / "submitted.tsv"));
  for (std::string job, id; lines >> job >> id;)
    if (id == stage) return job;
  return "none";
}

class RealSlurmTest : public StudyTest {
 protected:
  void TearDown() override {
    if (started_) testing::run_command("bash " + script() + " stop " + (dir_ / "cluster").string());
  }
  // Starts the cluster and sets `env` to what reaches it; leaves it empty after a skip (where the
  // daemons cannot start) or a failure.
  void start_cluster(std::string* env) {
    const testing::ProcessResult cluster =
        testing::run_command("bash " + script() + " start " + (dir_ / "cluster").string());
    started_ = true;
    if (cluster.status == 3) GTEST_SKIP() << cluster.output;
    if (cluster.status != 0) {
      ADD_FAILURE() << cluster.output;
      return;
    }
    *env = "SLURM_CONF=" + (dir_ / "cluster" / "slurm.conf").string();
  }
  static std::string script() {
    return (testing::source_dir() / "tests/slurm/cluster.sh").string();
  }
  bool started_ = false;
};

TEST_F(RealSlurmTest, RunsTheStudyAsALocalRunDoes) {
  KD_SKIP_WITHOUT_GNUPLOT();
  std::string env;
  start_cluster(&env);
  if (env.empty()) return;
  // Each cache on two jobs at once; each teacher on two ranks: one job of 2 tasks, its ranks
  // started by srun (SLURM's rendezvous: the step's first node, a port from the job id).
  std::string study = edited("views = 2", "views = 2\nchunk = 64\nshards = 2");
  study.replace(study.find("mi-examples = 10"), 16, "mi-examples = 10\nranks = 2");
  write(study);

  const testing::ProcessResult submitted = run("--executor slurm --submit --threads 1", env);
  ASSERT_EQ(submitted.status, 0) << submitted.output;
  EXPECT_NE(submitted.output.find("submitted 13 stage jobs"), std::string::npos)
      << submitted.output;
  // While the jobs run, status names each stage's job.
  const testing::ProcessResult watching =
      testing::run_kdpipe("status " + (dir_ / "run").string() + " --json", env);
  ASSERT_EQ(watching.status, 0) << watching.output;
  for (const auto& s : nlohmann::json::parse(watching.output)["stages"]) {
    EXPECT_FALSE(s["job"].is_null()) << s;
  }
  // Wait for the queue to drain (the report job last).
  bool drained = false;
  for (int i = 0; i < 600 && !drained; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    const testing::ProcessResult queue = testing::run_command("squeue --noheader", env);
    drained = queue.status == 0 && queue.output.find_first_not_of(" \n") == std::string::npos;
  }
  ASSERT_TRUE(drained) << testing::run_command("squeue", env).output;
  EXPECT_TRUE(fs::exists(dir_ / "run" / "report" / "report.json"))
      << testing::run_command("cat " + (dir_ / "run/slurm/report-*.out").string()).output;
  const auto manifest = nlohmann::json::parse(read_text(dir_ / "run" / "manifest.json"));
  for (const auto& s : manifest["stages"]) EXPECT_EQ(s["state"], "done") << s["id"];
  const testing::ProcessResult status =
      testing::run_kdpipe("status " + (dir_ / "run").string(), env);
  EXPECT_NE(status.output.find("13 stages: 13 done"), std::string::npos) << status.output;
  // A teacher: one job of 2 tasks; srun started rank 1 (its lines in the stage's log), not
  // kdpipe (which writes rank-1.log).
  const fs::path teacher = dir_ / "run/teach/eps0-seed0";
  EXPECT_NE(read_text(dir_ / "run/slurm/jobs/001-teach-eps0-seed0.sh").find("#SBATCH --ntasks=2"),
            std::string::npos);
  EXPECT_NE(read_text(teacher / "train.log").find("rank 0 of 2"), std::string::npos);
  EXPECT_NE(read_text(teacher / "stage.log").find("rank 1 of 2"), std::string::npos)
      << read_text(teacher / "stage.log");
  EXPECT_FALSE(fs::exists(teacher / "rank-1.log"));

  // The same study here, one stage at a time with one thread each, as every job ran.
  const testing::ProcessResult local =
      testing::run_kdpipe("run " + (dir_ / "study.ini").string() + " --out " +
                          (dir_ / "local").string() + " --jobs 1 --threads 1");
  ASSERT_EQ(local.status, 0) << local.output;
  EXPECT_TRUE(fs::exists(dir_ / "local/teach/eps0-seed0/rank-1.log"));  // kdpipe's own ranks
  // Models and predictions byte for byte (kdpipe's ranks over loopback, SLURM's over TCP); caches
  // dataset by dataset (their headers name the teacher's path and the time they were made).
  int compared = 0;
  for (const auto& entry : fs::recursive_directory_iterator(dir_ / "local")) {
    const std::string name = entry.path().filename().string();
    const fs::path twin = dir_ / "run" / fs::relative(entry.path(), dir_ / "local");
    if (name == "model.pt" || name == "predictions.pt") {
      EXPECT_TRUE(read_text(entry.path()) == read_text(twin)) << twin << " differs";
      ++compared;
    } else if (entry.path().extension() == ".h5") {
      const testing::ProcessResult same = testing::run_command(
          "/usr/bin/python3 -c \"import sys, h5py, numpy as np\n"
          "a, b = (h5py.File(p, 'r') for p in sys.argv[1:])\n"
          "names = []\n"
          "a.visit(lambda n: names.append(n) if isinstance(a[n], h5py.Dataset) else None)\n"
          "bad = [n for n in names if not np.array_equal(a[n][()], b[n][()])]\n"
          "print('differ:', bad) if bad else None; sys.exit(1 if bad or not names else 0)\" " +
          entry.path().string() + " " + twin.string());
      EXPECT_EQ(same.status, 0) << twin << ": " << same.output;
      ++compared;
    }
  }
  EXPECT_GE(compared, 11);  // 2 teachers, 2 caches, 5 students and baselines (model, predictions)
}

TEST_F(RealSlurmTest, JudgeSubmitsEachRoundAndReachesALocalJudgesDecisions) {
  std::string env;
  start_cluster(&env);
  if (env.empty()) return;
  const testing::ProcessResult teachers = testing::run_command(
      "/usr/bin/python3 " + (testing::source_dir() / "tests/pipelines/judge_teachers.py").string() +
      " " + dir_.path().string());
  ASSERT_EQ(teachers.status, 0) << "needs python3-torch and python3-h5py: " << teachers.output;
  // The same model under two names: decided "equivalent" in a second round (seed 4 of at most 4).
  const auto judge = [&](const std::string& out, const std::string& executor) {
    return "judge --teacher " + (dir_ / "good.pt").string() + " --teacher " +
           (dir_ / "copy.pt").string() + " --student mlp:32 --dataset " +
           (dir_ / "problem.h5").string() +
           " --val-size 500 --train-subset 600 --epochs 4 --batch-size 64 --max-seeds 4 "
           "--threads 1 --jobs 1 --json --out " +
           (dir_ / out).string() + " --executor " + executor +
           (executor == "slurm" ? " --poll 0.5" : "");
  };
  const testing::ProcessResult cluster = testing::run_kdpipe(judge("judged", "slurm"), env);
  ASSERT_EQ(cluster.status, 0) << cluster.output;
  EXPECT_NE(cluster.output.find("submitted 19 stage jobs (round 1"), std::string::npos)
      << cluster.output;
  EXPECT_NE(cluster.output.find("submitted 3 stage jobs (round 2"), std::string::npos)
      << cluster.output;
  // Every job ran one stage; status reads the judge's plan back from its run directory.
  const testing::ProcessResult status =
      testing::run_kdpipe("status " + (dir_ / "judged").string(), env);
  EXPECT_NE(status.output.find("22 stages: 22 done"), std::string::npos) << status.output;
  const std::string job = submitted_job(dir_ / "judged", "baseline/hard/mlp32-seed3");
  EXPECT_TRUE(fs::exists(dir_ / "judged/baseline/hard/mlp32-seed3" / ("slurm-" + job + ".out")));

  const testing::ProcessResult local = testing::run_kdpipe(judge("local", "local"));
  ASSERT_EQ(local.status, 0) << local.output;
  const auto a = nlohmann::json::parse(read_text(dir_ / "judged/judge.json"));
  const auto b = nlohmann::json::parse(read_text(dir_ / "local/judge.json"));
  ASSERT_EQ(a["comparisons"].size(), 3U);
  ASSERT_EQ(a["comparisons"].size(), b["comparisons"].size());
  for (std::size_t i = 0; i < a["comparisons"].size(); ++i) {
    for (const char* key : {"decision", "count", "estimate_points", "interval_points"})
      EXPECT_EQ(a["comparisons"][i][key], b["comparisons"][i][key]) << i << " " << key;
  }
  EXPECT_EQ(a["comparisons"][0]["decision"], "equivalent");
}

}  // namespace
}  // namespace kd
