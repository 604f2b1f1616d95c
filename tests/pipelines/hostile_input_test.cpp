// What the third probe found in runs and studies: names that would inject into SLURM scripts,
// report paths that lead out of a run, a refused run that replaced a running run's study, values
// no study means, stage folders past the file system's limits, and results that do not validate.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <array>
#include <fstream>
#include <nlohmann/json.hpp>

#include "lib/core/file_lock.h"
#include "lib/core/files.h"
#include "lib/core/names.h"
#include "pipelines/report/results_reader.h"
#include "pipelines/study/slurm.h"
#include "pipelines/study/stages.h"
#include "tests/pipelines/study_fixture.h"
#include "tests/support/errors.h"

namespace kd {
namespace {

namespace fs = std::filesystem;
using testing::error_of;
using testing::expect_one_line_error;
using testing::ProcessResult;
using testing::StudyTest;

// A stand-in kdpipe for the job scripts: records its arguments, one per line, where $ARGV_LOG
// says, and nothing else.
const char* kRecordingKdpipe = R"(#!/usr/bin/env bash
for a in "$@"; do printf '%s\n' "$a" >> "$ARGV_LOG"; done
echo "--- $PWD" >> "$ARGV_LOG"
)";

// A stand-in sbatch: reads the job's --output directive as sbatch would (relative to its working
// directory, %j the job id), runs the job with its output there, prints the job id.
const char* kDirectiveSbatch = R"(#!/usr/bin/env bash
n=$(( $(cat "$SBATCH_LOG" 2> /dev/null | wc -l) + 1 ))
echo "$n $*" >> "$SBATCH_LOG"
job="${@: -1}"
out=$(sed -n 's/^#SBATCH --output=//p' "$job")
out="${out//%j/$n}"
bash "$job" > "$out" 2>&1 || echo "job $n failed" >> "$SBATCH_LOG"
echo "$n"
)";

TEST_F(StudyTest, SlurmScriptsTakeHostileRunNamesAsNamesOnly) {
  // Space, quotes, $(…), backticks, # and \ : legal in a path, dangerous unquoted in a script.
  const fs::path run = dir_ / "o in j'\"$(touch PWNED1)`touch PWNED2`#\\x%j";
  const fs::path bin = dir_ / "bin";
  write_text_atomically(bin / "sbatch", kDirectiveSbatch);
  write_text_atomically(bin / "kdpipe", kRecordingKdpipe);
  for (const char* tool : {"sbatch", "kdpipe"})
    fs::permissions(bin / tool, fs::perms::owner_exec, fs::perm_options::add);
  Stage teach;
  teach.id = "teach/eps0-seed0";
  teach.kind = StageKind::teach;
  teach.output = teach.id + "/metrics.json";
  ExecuteOptions options;
  options.run_dir = run;
  options.kdpipe = bin / "kdpipe";
  options.threads = 1;
  const SlurmJobs jobs =
      write_slurm_jobs({teach}, options, run / "study.ini", {"--comment=a b", "$(touch PWNED3)"});
  ASSERT_EQ(jobs.stages, 1);
  const ProcessResult submitted = testing::run_command(
      "cd " + shell_quote(dir_.path().string()) + " && PATH=" + shell_quote(bin.string()) +
      ":$PATH SBATCH_LOG=" + shell_quote((dir_ / "sbatch.log").string()) + " ARGV_LOG=" +
      shell_quote((dir_ / "argv.log").string()) + " bash " + shell_quote(jobs.submit.string()));
  ASSERT_EQ(submitted.status, 0) << submitted.output;
  // Nothing ran but the jobs: no file was made by the injected commands, anywhere.
  for (const auto& e : fs::recursive_directory_iterator(dir_.path())) {
    const std::string name = e.path().filename().string();
    EXPECT_TRUE(name != "PWNED1" && name != "PWNED2" && name != "PWNED3") << e.path();
  }
  // The stage's job ran kdpipe with the run directory exactly as given, in its slurm folder.
  const std::string argv = read_text(dir_ / "argv.log");
  EXPECT_NE(argv.find("run\n" + (run / "study.ini").string() + "\n--out\n" + run.string() +
                      "\n--only\nteach/eps0-seed0\n"),
            std::string::npos)
      << argv;
  EXPECT_NE(argv.find("--- " + (run / "slurm").string() + "\n"), std::string::npos) << argv;
  // Its log went where kdpipe status looks for it, and sbatch got the extra options as words.
  EXPECT_TRUE(fs::exists(run / "teach/eps0-seed0/slurm-1.out"));
  EXPECT_TRUE(fs::exists(run / "slurm/report-2.out"));
  const std::string calls = read_text(dir_ / "sbatch.log");
  EXPECT_NE(calls.find("1 --parsable --kill-on-invalid-dep=yes --comment=a b $(touch PWNED3) "
                       "jobs/001-teach-eps0-seed0.sh"),
            std::string::npos)
      << calls;
  EXPECT_EQ(calls.find("failed"), std::string::npos) << calls;
}

TEST_F(StudyTest, ARunDirectoryWithAControlCharacterIsRefusedBeforeAnythingIsWritten) {
  const fs::path out = dir_ / "o/inj\ntouch PWNED\n";
  for (const std::string extra : {"--executor slurm", "--dry-run", ""}) {
    const ProcessResult r = testing::run_kdpipe("run " + (dir_ / "study.ini").string() + " --out " +
                                                shell_quote(out.string()) + " " + extra);
    EXPECT_EQ(r.status, 2) << extra;
    expect_one_line_error(r,
                          "--out: '" + (dir_ / "o/inj").string() + "\\x0atouch PWNED\\x0a': byte");
  }
  EXPECT_FALSE(fs::exists(dir_ / "o"));
}

TEST_F(StudyTest, AStudyNameThatIsNotUtf8IsRefusedAtPlanning) {
  write(edited("name = tiny", "name = tiny\xff"));
  const ProcessResult r =
      testing::run_kdpipe("run " + (dir_ / "study.ini").string() + " --dry-run");
  EXPECT_EQ(r.status, 2);
  expect_one_line_error(r, "study.name: expected one folder name (valid UTF-8");
}

TEST_F(StudyTest, AStudyWithoutItsDataIsRefusedAtPlanning) {
  write(edited("data-dir = data", "data-dir = " + (dir_ / "nowhere").string()));
  const ProcessResult r =
      testing::run_kdpipe("run " + (dir_ / "study.ini").string() + " --dry-run");
  EXPECT_EQ(r.status, 2) << r.output;
  expect_one_line_error(r, "data.data-dir: " + (dir_ / "nowhere").string() +
                               " is not a directory (mnist is read from there)");
  // A path in quotes is the path within them, as in lists.
  fs::rename(dir_ / "data", dir_ / "my \"data\"");
  write(edited("data-dir = data", "data-dir = 'my \"data\"'"));
  const ProcessResult quoted =
      testing::run_kdpipe("run " + (dir_ / "study.ini").string() + " --dry-run");
  EXPECT_EQ(quoted.status, 0) << quoted.output;
}

// Each architecture is built once on the data's shape when the study is planned: one that
// cannot take the images or does not fit in memory fails before the first stage.
TEST_F(StudyTest, ModelsThatCannotRunAreRefusedAtPlanning) {
  std::string tiny_images = edited("val-size = 50", "val-size = 50\nimage-size = 1x1");
  tiny_images.replace(tiny_images.find("arch = mlp:8"), 12, "arch = cnn:4");
  for (const auto& [text, expected] : std::vector<std::pair<std::string, std::string>>{
           {edited("arch = mlp:16", "arch = cnn:65536"),
            "teacher.arch: --arch 'cnn:65536': the model"},
           {tiny_images, "student.arch: --arch 'cnn:4': cannot take 1x1x1 images"}}) {
    write(text);
    const ProcessResult r = testing::run_kdpipe("run " + (dir_ / "study.ini").string() +
                                                " --dry-run --out " + (dir_ / "o").string());
    EXPECT_EQ(r.status, 2) << expected << r.output;
    expect_one_line_error(r, expected);
    EXPECT_FALSE(fs::exists(dir_ / "o"));
  }
}

TEST_F(StudyTest, ValuesNoStudyMeansAreRefusedAtPlanning) {
  // inf and nan are no numbers a study means; a number too small for a temperature is a number,
  // and the stage's own check names it.
  const std::string tiny =
      "expected a temperature of at least 1e-06 (softmax(z/T) overflows "
      "below it), got ";
  for (const auto& [from, to, expected] : std::vector<std::array<std::string, 3>>{
           {"temperature = 1 4", "temperature = 1 inf", "expected a finite number, got '"},
           {"temperatures = 1 4", "temperatures = inf", "expected a finite number, got '"},
           {"epochs = 2", "epochs = 2\nstudent-temperature = nan",
            "expected a finite number, got '"},
           {"temperature = 1 4", "temperature = 1 1e-320", ": stage 'distill/eps0-seed0/"},
           {"temperatures = 1 4", "temperatures = 1 1e-45", ": stage 'cache/eps0-seed0': "}}) {
    write(edited(from, to));
    const ProcessResult r =
        testing::run_kdpipe("run " + (dir_ / "study.ini").string() + " --dry-run");
    EXPECT_EQ(r.status, 2) << to << r.output;
    expect_one_line_error(r, expected);
    if (expected[0] == ':') {
      EXPECT_NE(r.output.find(tiny), std::string::npos) << r.output;
    }
  }
}

TEST_F(StudyTest, AVeryDeepModelSpecGetsAShortStageFolder) {
  std::string spec = "mlp:8";
  for (int i = 1; i < 130; ++i) spec += "-8";
  write(edited("arch = mlp:8\n", "arch = " + spec + "\n"));
  const Study study = load_study(dir_ / "study.ini");
  for (const Stage& s : plan_stages(study)) EXPECT_TRUE(is_stage_folder(s.id)) << s.id;
  const ProcessResult dry = run("--dry-run");
  ASSERT_EQ(dry.status, 0) << dry.output;
  // The first 40 characters of the spec, then a hash of the whole.
  std::string kept = "mlp8";
  for (int i = 0; i < 18; ++i) kept += "-8";  // 40 characters
  const std::string prefix = "run   baseline/hard/" + kept + "-";
  const auto at = dry.output.find(prefix);
  ASSERT_NE(at, std::string::npos) << dry.output;
  const std::string hash = dry.output.substr(at + prefix.size(), 12);
  EXPECT_EQ(hash.find_first_not_of("0123456789abcdef"), std::string::npos) << dry.output;
  EXPECT_EQ(dry.output.substr(at + prefix.size() + 12, 6), "-seed0") << dry.output;
  // Two deep specs that share their first 40 characters still get two folders.
  std::string other = spec + "-8";
  write(edited("arch = mlp:8\n", "arch = " + spec + " " + other + "\n"));
  std::set<std::string> ids;
  for (const Stage& s : plan_stages(load_study(dir_ / "study.ini"))) ids.insert(s.id);
  EXPECT_EQ(ids.size(), plan_stages(load_study(dir_ / "study.ini")).size());
}

TEST_F(StudyTest, ARefusedRunLeavesTheRunningRunsStudyAlone) {
  fs::create_directories(dir_ / "run");
  std::ofstream(dir_ / "run" / "study.ini") << "[study]\nname = the running one\n";
  const FileLock running(dir_ / "run" / "run.lock");  // as the other kdpipe run holds it
  ASSERT_TRUE(running.held());
  const ProcessResult r = run();
  EXPECT_EQ(r.status, 1) << r.output;
  expect_one_line_error(r, "another kdpipe run is running this study now");
  EXPECT_EQ(read_text(dir_ / "run" / "study.ini"), "[study]\nname = the running one\n");
}

TEST_F(StudyTest, TorchScriptPathsWithSpacesAreQuoted) {
  fs::create_directories(dir_ / "my models");
  testing::save_nan_teacher(dir_ / "my models" / "a b.pt");
  write(edited("[cache]",
               "torchscript = \"my models/a b.pt\"\ntorchscript-smoothing = 0.2\n\n"
               "[cache]"));
  const Study study = load_study(dir_ / "study.ini");
  ASSERT_EQ(study.torchscript.size(), 1u);
  EXPECT_EQ(study.torchscript[0], dir_ / "my models" / "a b.pt");
  // The resolved study (a run's study.ini) reads back as the same files.
  std::ofstream(dir_ / "resolved.ini") << to_ini(study);
  EXPECT_EQ(load_study(dir_ / "resolved.ini").torchscript, study.torchscript);
  EXPECT_NE(error_for(edited("[cache]", "torchscript = 'my models/a b.pt\n\n[cache]"))
                .find("teacher.torchscript: the list: a ' is not closed"),
            std::string::npos);
}

// A manifest is the run's own record, but a file anyone can edit: the report reads only files
// inside the run directory.
TEST(Manifest, StagePathsThatLeadOutOfTheRunAreRefused) {
  testing::TempDir dir;
  fs::create_directories(dir / "run");
  fs::create_directories(dir / "elsewhere");
  std::ofstream(dir / "elsewhere" / "metrics.json") << "{}";
  fs::create_directory_symlink(dir / "elsewhere", dir / "run" / "link");
  const auto manifest_with = [&](const std::string& id, const std::string& output) {
    const nlohmann::json m = {
        {"stages", {{{"id", id}, {"kind", "teach"}, {"output", output}, {"state", "done"}}}}};
    std::ofstream(dir / "run" / "manifest.json") << m.dump();
    return error_of([&] { read_manifest(dir / "run" / "manifest.json"); });
  };
  const std::string field = (dir / "run" / "manifest.json").string() + ": field 'stages[0].";
  EXPECT_EQ(manifest_with("teach/a", (dir / "elsewhere/metrics.json").string()),
            field + "output': '" + (dir / "elsewhere/metrics.json").string() +
                "' is not a path relative to " + (dir / "run").string());
  EXPECT_EQ(
      manifest_with("teach/a", "../../elsewhere/metrics.json"),
      field + "output': '../../elsewhere/metrics.json' climbs out of " + (dir / "run").string());
  EXPECT_NE(manifest_with("teach/a", "/dev/zero").find("is not a path relative"),
            std::string::npos);
  EXPECT_NE(manifest_with("teach/a", "link/metrics.json").find("leads out of"), std::string::npos);
  EXPECT_NE(manifest_with("../x", "teach/a/metrics.json").find("stages[0].id': '../x' climbs"),
            std::string::npos);
  EXPECT_EQ(manifest_with("teach/a", "teach/a/metrics.json"), "no error");
}

// A metrics file inside the run that is a device: never read whole.
TEST(Manifest, AnOutputThatIsADeviceIsNotRead) {
  testing::TempDir dir;
  fs::create_directories(dir / "run/teach/a");
  ASSERT_EQ(::mkfifo((dir / "run/teach/a/metrics.json").c_str(), 0600), 0);
  EXPECT_EQ(
      error_of([&] { read_teacher_metrics(dir / "run/teach/a/metrics.json", "teach/a"); }),
      "reading " + (dir / "run/teach/a/metrics.json").string() + ": a FIFO, not a regular file");
}

// A result out of its domain is not a finished stage: run reruns it, status does not call it done.
TEST_F(StudyTest, AStageWhoseResultDoesNotValidateIsNotDone) {
  KD_SKIP_WITHOUT_GNUPLOT();
  ASSERT_EQ(run().status, 0);
  const fs::path metrics = dir_ / "run/distill/eps0-seed0/mlp8-T4-a1-seed0/metrics.json";
  auto m = nlohmann::json::parse(read_text(metrics));
  m["test"]["accuracy"] = 5;
  std::ofstream(metrics) << m.dump(2);
  const ProcessResult dry = run("--dry-run");
  EXPECT_NE(dry.output.find("run   distill/eps0-seed0/mlp8-T4-a1-seed0  (its output does not "
                            "validate ("),
            std::string::npos)
      << dry.output;
  EXPECT_NE(dry.output.find("field 'test.accuracy' is 5"), std::string::npos) << dry.output;
  EXPECT_NE(dry.output.find("1 would run, 8 done"), std::string::npos) << dry.output;
  const ProcessResult again = run();
  ASSERT_EQ(again.status, 0) << again.output;
  EXPECT_NE(again.output.find("1 ran, 8 skipped"), std::string::npos) << again.output;
  EXPECT_LE(nlohmann::json::parse(read_text(metrics))["test"]["accuracy"].get<double>(), 1.0);
}

TEST_F(StudyTest, AStageNamedTwiceIsRefusedAtPlanning) {
  write(edited("arch = mlp:8\n", "arch = mlp:8 mlp:8\n"));
  EXPECT_NE(error_of([&] {
              plan_stages(load_study(dir_ / "study.ini"));
            }).find("' is planned twice: a list of the study names one value twice"),
            std::string::npos);
}

TEST_F(StudyTest, ARunDirectoryThatIsNoDirectoryIsRefusedEvenDry) {
  ASSERT_EQ(::mkfifo((dir_ / "fifo").c_str(), 0600), 0);
  const ProcessResult r = testing::run_kdpipe("run " + (dir_ / "study.ini").string() + " --out " +
                                              (dir_ / "fifo").string() + " --dry-run");
  EXPECT_EQ(r.status, 1);
  expect_one_line_error(r, "exists and is a FIFO, not a directory");
  const ProcessResult quote =
      testing::run_kdpipe("run " + (dir_ / "study.ini").string() + " --out " +
                          (dir_ / "q").string() + " --executor slurm --sbatch '\"unclosed'");
  EXPECT_EQ(quote.status, 2);
  expect_one_line_error(quote, "--sbatch: a \" is not closed");
  EXPECT_FALSE(fs::exists(dir_ / "q"));
}

}  // namespace
}  // namespace kd
