// Study runs end to end: skipping and rerunning, the SLURM and --only paths, exact numbers, a
// failing stage and resumption after a kill. The executor alone: executor_test.cpp.
#include <gtest/gtest.h>
#include <torch/script.h>

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

// The end-to-end smoke study (ctest -R Smoke): real stages, real report. The executor's own
// behaviour is tested against a stand-in binary in executor_test.cpp.
TEST_F(StudyTest, SmokeEndToEndRunsSkipsAndRerunsOnlyWhatChanged) {
  KD_SKIP_WITHOUT_GNUPLOT();
  const testing::ProcessResult first = run();
  ASSERT_EQ(first.status, 0) << first.output;
  EXPECT_NE(first.output.find("9 ran, 0 skipped"), std::string::npos) << first.output;
  EXPECT_TRUE(fs::exists(dir_ / "run" / "study.ini"));
  const auto manifest = nlohmann::json::parse(read_text(dir_ / "run" / "manifest.json"));
  EXPECT_EQ(manifest["stages"].size(), 9u);
  for (const auto& s : manifest["stages"]) {
    EXPECT_EQ(s["state"], "done") << s["id"];
    EXPECT_EQ(s["ran"], true) << s["id"];
  }
  // Each stage records where its time went and its arithmetic (work.json, for bench/roofline.py):
  // a teacher mlp:16 trains once over 250 images, its cache infers 2 views of them, a student
  // mlp:8 trains twice over its 100.
  const auto work = [&](const std::string& stage) {
    return nlohmann::json::parse(read_text(dir_ / "run" / stage / "work.json"));
  };
  const double teacher_flops = 2.0 * (784 * 16 + 16 * 10), student_flops = 2.0 * (784 * 8 + 8 * 10);
  const auto teach = work("teach/eps0-seed0");
  EXPECT_EQ(teach["trained_images"], 250);
  EXPECT_GE(teach["forward_flops"].get<double>(), 3 * 250 * teacher_flops);
  EXPECT_GT(teach["phases"]["train"].get<double>(), 0);
  EXPECT_GT(teach["phases"]["evaluate"].get<double>(), 0);
  EXPECT_GT(teach["phases"]["load"].get<double>(), 0);
  // and its peak resident memory: more than LibTorch alone takes, less than this machine has.
  EXPECT_GT(teach["peak_rss_mb"].get<double>(), 20);
  EXPECT_LT(teach["peak_rss_mb"].get<double>(), 4096);
  EXPECT_GT(teach["phases"]["write"].get<double>(), 0);
  const auto cache = work("cache/eps0-seed0");
  EXPECT_EQ(cache["evaluated_images"], 500);
  EXPECT_DOUBLE_EQ(cache["forward_flops"].get<double>(), 500 * teacher_flops);
  EXPECT_GT(cache["phases"]["infer"].get<double>(), 0);
  const auto student_work = work("distill/eps0.1-seed0/mlp8-T4-a1-seed0");
  EXPECT_EQ(student_work["trained_images"], 200);
  EXPECT_GE(student_work["forward_flops"].get<double>(), 3 * 200 * student_flops);

  const fs::path student = dir_ / "run" / "distill" / "eps0.1-seed0" / "mlp8-T4-a1-seed0";
  const auto stamp = fs::last_write_time(student / "model.pt");

  const testing::ProcessResult second = run();
  ASSERT_EQ(second.status, 0) << second.output;
  EXPECT_NE(second.output.find("0 ran, 9 skipped"), std::string::npos) << second.output;
  EXPECT_EQ(fs::last_write_time(student / "model.pt"), stamp);

  write(edited("temperature = 1 4", "temperature = 1 4 2"));
  const testing::ProcessResult dry = run("--dry-run");
  EXPECT_NE(dry.output.find("2 would run, 9 done"), std::string::npos) << dry.output;
  EXPECT_NE(dry.output.find("run   distill/eps0-seed0/mlp8-T2-a1-seed0  (new)"), std::string::npos)
      << dry.output;
  const testing::ProcessResult third = run();
  EXPECT_NE(third.output.find("2 ran, 9 skipped"), std::string::npos) << third.output;
  EXPECT_EQ(fs::last_write_time(student / "model.pt"), stamp);

  write(edited("train-subset = 100", "train-subset = 120"));
  const testing::ProcessResult fourth = run();
  // Students and the baseline learn from the subset; teachers and caches do not.
  EXPECT_NE(fourth.output.find("5 ran, 4 skipped"), std::string::npos) << fourth.output;
}

// A stand-in for SLURM's sbatch: records its arguments and runs the job at once (submit.sh submits
// jobs in dependency order), then prints a job id as `sbatch --parsable` does.
const char* kFakeSbatch = R"(#!/usr/bin/env bash
n=$(( $(cat "$SBATCH_LOG" 2> /dev/null | wc -l) + 1 ))
echo "$n $*" >> "$SBATCH_LOG"
bash "${@: -1}" > /dev/null 2>&1 || echo "job $n failed" >> "$SBATCH_LOG"
echo "$n;cluster"
)";

TEST_F(StudyTest, SlurmExecutorWritesJobsThatRunTheStudy) {
  KD_SKIP_WITHOUT_GNUPLOT();
  const fs::path bin = dir_ / "bin", log = dir_ / "sbatch.log";
  write_text_atomically(bin / "sbatch", kFakeSbatch);
  fs::permissions(bin / "sbatch", fs::perms::owner_exec, fs::perm_options::add);
  const testing::ProcessResult wrote = run("--executor slurm --threads 1 --sbatch '-p debug -t 9'");
  ASSERT_EQ(wrote.status, 0) << wrote.output;
  EXPECT_NE(wrote.output.find("wrote 9 SLURM job scripts"), std::string::npos) << wrote.output;
  EXPECT_FALSE(fs::exists(dir_ / "run" / "teach" / "eps0-seed0" / "metrics.json"));  // not run
  const std::string job = read_text(dir_ / "run/slurm/jobs/001-teach-eps0-seed0.sh");
  EXPECT_NE(job.find("#SBATCH --cpus-per-task=1"), std::string::npos) << job;
  EXPECT_NE(job.find("'--only' 'teach/eps0-seed0'"), std::string::npos) << job;

  const testing::ProcessResult submitted =
      testing::run_command("bash " + (dir_ / "run/slurm/submit.sh").string(),
                           "PATH=" + bin.string() + ":$PATH SBATCH_LOG=" + log.string());
  ASSERT_EQ(submitted.status, 0) << submitted.output;
  EXPECT_NE(submitted.output.find("submitted 9 stage jobs; the report follows as job 10"),
            std::string::npos)
      << submitted.output;
  const std::string calls = read_text(log);
  EXPECT_EQ(calls.find("failed"), std::string::npos) << calls;
  // Job 1 teaches eps0, job 2 caches it; its students wait for job 2; the report for all nine.
  EXPECT_NE(
      calls.find(
          "1 --parsable --kill-on-invalid-dep=yes -p debug -t 9 jobs/001-teach-eps0-seed0.sh"),
      std::string::npos)
      << calls;
  EXPECT_NE(calls.find("2 --parsable --kill-on-invalid-dep=yes -p debug -t 9 "
                       "--dependency=afterok:1 jobs/002-cache-eps0"),
            std::string::npos)
      << calls;
  EXPECT_NE(calls.find("--dependency=afterok:2 jobs/003-distill-eps0-seed0"), std::string::npos)
      << calls;
  const auto report_job = calls.find("\n10 ");
  ASSERT_NE(report_job, std::string::npos) << calls;
  EXPECT_EQ(count(calls.substr(report_job), ":"), 9) << calls;
  // The jobs ran every stage; the last one rewrote the manifest and wrote the report.
  const auto manifest = nlohmann::json::parse(read_text(dir_ / "run" / "manifest.json"));
  for (const auto& s : manifest["stages"]) {  // done by the jobs; the last one found them done
    EXPECT_EQ(s["state"], "done") << s["id"];
    EXPECT_EQ(s["ran"], false) << s["id"];
  }
  EXPECT_TRUE(fs::exists(dir_ / "run" / "report" / "report.json"));
  EXPECT_NE(run("--dry-run").output.find("0 would run, 9 done"), std::string::npos);

  // Everything done: nothing to submit.
  const testing::ProcessResult again = run("--executor slurm");
  EXPECT_NE(again.output.find("nothing to submit"), std::string::npos) << again.output;
}

TEST_F(StudyTest, OnlyRunsOneStageOnceItsDependenciesAreDone) {
  KD_SKIP_WITHOUT_GNUPLOT();
  const testing::ProcessResult early = run("--only cache/eps0-seed0");
  EXPECT_EQ(early.status, 1) << early.output;
  EXPECT_NE(early.output.find("--only cache/eps0-seed0: it reads teach/eps0-seed0, which is not "
                              "done (new)"),
            std::string::npos)
      << early.output;
  EXPECT_EQ(run("--only nothing/here").status, 2);
  ASSERT_EQ(run("--only teach/eps0-seed0").status, 0);
  const testing::ProcessResult cache = run("--only cache/eps0-seed0");
  ASSERT_EQ(cache.status, 0) << cache.output;
  EXPECT_TRUE(fs::exists(dir_ / "run" / "cache" / "eps0-seed0" / "train.h5"));
  EXPECT_FALSE(fs::exists(dir_ / "run" / "teach" / "eps0.1-seed0"));  // only what was asked
  EXPECT_FALSE(fs::exists(dir_ / "run" / "manifest.json"));           // other jobs may be running
  EXPECT_NE(run("--dry-run").output.find("7 would run, 2 done"), std::string::npos);
}

// Numbers reach the stage's process, its input hash and the resolved study exactly: 0.12345678
// printed with 6 digits would be 0.123457.
TEST_F(StudyTest, NumbersSurviveStudyToStageToChildExactly) {
  KD_SKIP_WITHOUT_GNUPLOT();
  std::string text = edited("smoothing = 0 0.1", "smoothing = 0.123456789");
  text.replace(text.find("epochs = 1"), 10,
               "epochs = 1\nlr = 0.12345678\nweight-decay = 0.000123456789");
  write(text);
  const testing::ProcessResult r = run("--only teach/eps0.123456789-seed0");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto m = nlohmann::json::parse(
      read_text(dir_ / "run" / "teach" / "eps0.123456789-seed0" / "metrics.json"));
  EXPECT_EQ(m["options"]["lr"].get<double>(), 0.12345678);
  EXPECT_EQ(m["options"]["smoothing"].get<double>(), 0.123456789);
  EXPECT_EQ(m["options"]["weight_decay"].get<double>(), 0.000123456789);
  // The resolved study a run writes (and a cluster job reads back).
  std::ofstream(dir_ / "resolved.ini") << to_ini(load_study(dir_ / "study.ini"));
  const Study resolved = load_study(dir_ / "resolved.ini");
  EXPECT_EQ(resolved.teacher_train.lr(), 0.12345678);
  EXPECT_EQ(resolved.teacher_smoothing, (std::vector<double>{0.123456789}));
}

// A teacher trained elsewhere, as TorchScript: a linear map on pixels in [0, 1].
void save_linear_teacher(const fs::path& file, double scale) {
  torch::jit::Module m("Linear");
  torch::manual_seed(4);
  m.register_parameter("w", torch::randn({784, 10}) * scale, false);
  m.define(R"(
    def forward(self, x):
        return torch.matmul(x.flatten(1), self.w)
  )");
  m.save(file.string());
}

TEST_F(StudyTest, TorchScriptTeachersAreEvaluatedCachedAndDistilled) {
  KD_SKIP_WITHOUT_GNUPLOT();
  save_linear_teacher(dir_ / "ext.pt", 0.05);
  const std::string with_ext = edited(
      "smoothing = 0 0.1",
      "smoothing = 0\ntorchscript = ext.pt\ntorchscript-smoothing = 0.1\ntorchscript-input = unit");
  write(with_ext);
  const std::vector<Stage> stages = plan_stages(load_study(dir_ / "study.ini"));
  ASSERT_EQ(stages.size(), 9u);
  EXPECT_EQ(stages[4].id, "teach/eps0.1-torchscript");
  const testing::ProcessResult r = run();
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("9 ran, 0 skipped"), std::string::npos) << r.output;
  const auto report = nlohmann::json::parse(read_text(dir_ / "run" / "report" / "report.json"));
  ASSERT_EQ(report["teachers"].size(), 2u);
  const auto& ext = report["teachers"][1];  // sorted by ε
  EXPECT_EQ(ext["source"], "torchscript");
  EXPECT_EQ(ext["smoothing"], 0.1);
  EXPECT_FALSE(ext.contains("projection"));  // no penultimate layer to show
  EXPECT_TRUE(report["teachers"][0].contains("projection"));
  int from_ext = 0;
  for (const auto& g : report["students"]) from_ext += g["teacher_smoothing"] == 0.1;
  EXPECT_EQ(from_ext, 2);  // T = 1 and 4

  // A changed file reruns that teacher's stages, and only those.
  save_linear_teacher(dir_ / "ext.pt", 0.07);
  EXPECT_NE(run("--dry-run").output.find("4 would run, 5 done"), std::string::npos);

  std::string msg = error_for(edited("smoothing = 0 0.1",
                                     "smoothing = 0\ntorchscript = ext.pt\n"
                                     "torchscript-smoothing = 0"));
  EXPECT_NE(msg.find("teacher.torchscript-smoothing: 0 is also in teacher.smoothing"),
            std::string::npos)
      << msg;
  msg = error_for(edited("smoothing = 0 0.1", "smoothing = 0\ntorchscript = ext.pt"));
  EXPECT_NE(msg.find("teacher.torchscript-smoothing: expected the label smoothing of each"),
            std::string::npos)
      << msg;
  msg = error_for(edited("smoothing = 0 0.1", "torchscript = gone.pt\ntorchscript-smoothing = 0"));
  EXPECT_NE(msg.find("gone.pt: no such file"), std::string::npos) << msg;
}

TEST_F(StudyTest, ResumesAfterTheRunIsKilled) {
  KD_SKIP_WITHOUT_GNUPLOT();
  const testing::ProcessResult killed = run("--jobs 1", "KDPIPE_FAULT_KILL_AFTER_STAGES=3");
  EXPECT_EQ(killed.signal, SIGKILL) << killed.output;
  const testing::ProcessResult resumed = run("--jobs 1");
  ASSERT_EQ(resumed.status, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("6 ran, 3 skipped"), std::string::npos) << resumed.output;
  const testing::ProcessResult again = run();
  EXPECT_NE(again.output.find("0 ran, 9 skipped"), std::string::npos) << again.output;
}

TEST_F(StudyTest, AFailingStageBlocksItsDependantsAndIsReported) {
  // A data folder without the dataset's files: the study plans, its first stage fails.
  fs::create_directories(dir_ / "nodata");
  write(edited("data-dir = data", "data-dir = nodata"));
  const testing::ProcessResult r = run();
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("FAILED teach/eps0-seed0"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("nodata"), std::string::npos) << r.output;  // the stage's own error
  EXPECT_NE(r.output.find("blocked cache/eps0-seed0"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace kd
