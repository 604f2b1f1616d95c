#include "pipelines/study/study.h"

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
#include "tests/support/paths.h"
#include "tests/support/process.h"
#include "tests/support/synthetic.h"
#include "tests/support/temp_dir.h"

namespace kd {
namespace {

namespace fs = std::filesystem;

// A study small enough to run end to end in seconds: 2 teachers, 2 caches, 4 students, 1 baseline.
const char* kTinyStudy = R"([study]
name = tiny
jobs = 2
threads = 2

[data]
dataset = mnist
data-dir = data
val-size = 50

[teacher]
arch = mlp:16
smoothing = 0 0.1
epochs = 1
mi-examples = 10

[cache]
views = 2
temperatures = 1 4

[student]
arch = mlp:8
temperature = 1 4
train-subset = 100
epochs = 2

[baseline]
hard = true
smoothing =

[report]
projection-classes = 3 1 4
projection-examples = 5
)";

class StudyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::write_synthetic_mnist(dir_ / "data", 300, 60);
    write(kTinyStudy);
  }
  void write(const std::string& text) const { std::ofstream(dir_ / "study.ini") << text; }
  std::string edited(const std::string& from, const std::string& to) const {
    std::string text = kTinyStudy;
    const auto at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return text.replace(at, from.size(), to);
  }
  std::string error_for(const std::string& text) const {
    write(text);
    try {
      load_study(dir_ / "study.ini");
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "no error";
  }
  testing::ProcessResult run(const std::string& extra = "", const std::string& env = "") const {
    return testing::run_kdpipe(
        "run " + (dir_ / "study.ini").string() + " --out " + (dir_ / "run").string() + " " + extra,
        env);
  }
  static int count(const std::string& text, const std::string& word) {
    int n = 0;
    for (auto at = text.find(word); at != std::string::npos; at = text.find(word, at + 1)) ++n;
    return n;
  }
  testing::TempDir dir_;
};

TEST_F(StudyTest, ReadsEveryKeyAndResolvesDataRelativeToTheStudyFile) {
  const Study s = load_study(dir_ / "study.ini");
  EXPECT_EQ(s.name, "tiny");
  EXPECT_EQ(s.jobs, 2);
  EXPECT_EQ(s.data.data_dir(), dir_ / "data");
  EXPECT_EQ(s.teacher_smoothing, (std::vector<double>{0, 0.1}));
  EXPECT_EQ(s.teacher_train.epochs(), 1);
  EXPECT_EQ(s.teacher_train.augment(), Augment::shift_flip);  // the default
  EXPECT_EQ(s.temperatures, (std::vector<double>{1, 4}));
  EXPECT_EQ(s.student_archs, (std::vector<std::string>{"mlp:8"}));
  EXPECT_EQ(s.train_subset, 100);
  EXPECT_TRUE(s.baseline_smoothing.empty());
  EXPECT_EQ(s.device, "cpu");                               // the default
  EXPECT_EQ(s.mi_classes, (std::array<int64_t, 2>{0, 1}));  // the default
  EXPECT_EQ(s.projection_classes, (std::array<int64_t, 3>{3, 1, 4}));
  EXPECT_EQ(s.projection_examples, 5);
  // The resolved text reads back to the same study.
  write(to_ini(s));
  EXPECT_EQ(to_ini(load_study(dir_ / "study.ini")), to_ini(s));
}

// "section.key" of every assignment in an INI text.
std::set<std::string> ini_keys(const std::string& text) {
  std::set<std::string> keys;
  std::istringstream in(text);
  std::string line, section;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (line[0] == '[') {
      section = line.substr(1, line.find(']') - 1);
    } else if (const auto eq = line.find(" ="); eq != std::string::npos) {
      keys.insert(section + "." + line.substr(0, eq));
    }
  }
  return keys;
}

TEST(DefaultStudy, ReadsAndSpellsOutEveryKey) {
  const fs::path file = fs::path(KD_TEST_SOURCE_DIR) / "pipelines/configs/label-smoothing.ini";
  const Study s = load_study(file);
  // The README points users at this file for every key a study may set.
  EXPECT_EQ(ini_keys(read_text(file)), ini_keys(to_ini(s)));
  EXPECT_EQ(plan_stages(s).size(), 34u);
}

TEST_F(StudyTest, BadStudyFilesNameTheFileLineAndKey) {
  std::string msg = error_for(edited("epochs = 1", "epochs = 1\nlearning-rate = 3"));
  EXPECT_NE(msg.find("study.ini:15"), std::string::npos) << msg;
  EXPECT_NE(msg.find("teacher.learning-rate"), std::string::npos) << msg;
  EXPECT_NE(msg.find("unknown key"), std::string::npos) << msg;
  msg = error_for(edited("epochs = 2", "epochs = two"));
  EXPECT_NE(msg.find(":25: student.epochs: expected a whole number, got 'two'"), std::string::npos)
      << msg;
  msg = error_for(edited("temperature = 1 4", "temperature ="));
  EXPECT_NE(msg.find("student.temperature: the list is empty"), std::string::npos) << msg;
  msg = error_for(edited("smoothing = 0 0.1", "smoothing = 0 1.5"));
  EXPECT_NE(msg.find("teacher.smoothing"), std::string::npos) << msg;
  msg = error_for(edited("temperatures = 1 4", "temperatures = 1 4\naugment = none"));
  EXPECT_NE(msg.find("cache.augment: none with cache.views = 2"), std::string::npos) << msg;
  msg = error_for(edited("arch = mlp:8", "arch = mlp:8 transformer"));
  EXPECT_NE(msg.find("student.arch"), std::string::npos) << msg;
  EXPECT_NE(msg.find("transformer"), std::string::npos) << msg;
  msg = error_for(edited("temperature = 1 4", "temperature = 1 4 1"));
  EXPECT_NE(msg.find("listed twice"), std::string::npos) << msg;
  msg = error_for(edited("mi-examples = 10", "mi-examples = 10\nmi-classes = 3 3"));
  EXPECT_NE(msg.find("teacher.mi-classes: a class is listed twice"), std::string::npos) << msg;
  msg = error_for(edited("mi-examples = 10", "mi-examples = 10\nmi-classes = 3"));
  EXPECT_NE(msg.find("teacher.mi-classes: expected 2 class indices, got '3'"), std::string::npos)
      << msg;
  msg = error_for(edited("projection-classes = 3 1 4", "projection-classes = 3 1 10"));
  EXPECT_NE(msg.find("report.projection-classes: expected classes in [0, 10), got 10"),
            std::string::npos)
      << msg;
  msg = error_for(edited("threads = 2", "threads = 2\ndevice = tpu"));
  EXPECT_NE(msg.find("study.ini:5: study.device: expected cpu, cuda or auto, got 'tpu'"),
            std::string::npos)
      << msg;
  msg = error_for(edited("temperatures = 1 4", "temperatures = 1 4\ncompress = 10"));
  EXPECT_NE(msg.find("cache.compress: expected a gzip level 0-9"), std::string::npos) << msg;
  msg = error_for(edited("dataset = mnist", "dataset = svhn"));
  EXPECT_NE(msg.find("data.dataset"), std::string::npos) << msg;
  EXPECT_THROW(load_study(dir_ / "absent.ini"), ConfigError);
}

TEST_F(StudyTest, StagesDependOnWhatTheyReadAndHashOnlyTheirInputs) {
  const std::vector<Stage> stages = plan_stages(load_study(dir_ / "study.ini"));
  ASSERT_EQ(stages.size(), 2u + 2u + 4u + 1u);
  std::set<std::string> seen;
  for (const Stage& s : stages) {
    for (const std::string& d : s.deps) EXPECT_TRUE(seen.count(d)) << s.id << " before " << d;
    seen.insert(s.id);
    if (s.kind == "distill") {
      EXPECT_EQ(s.deps.size(), 1u);
    }
  }
  auto hashes = [](const std::vector<Stage>& v) {
    std::map<std::string, std::string> h;
    for (const Stage& s : v) h[s.id] = s.input_hash;
    return h;
  };
  // Options at the commands' defaults stay off their command lines; others are passed on.
  auto has = [](const Stage& st, const std::vector<std::string>& words) {
    return std::search(st.args.begin(), st.args.end(), words.begin(), words.end()) != st.args.end();
  };
  EXPECT_FALSE(has(stages[0], {"--mi-classes"}));
  EXPECT_FALSE(has(stages[1], {"--compress"}));
  write(edited("mi-examples = 10", "mi-examples = 10\nmi-classes = 2 3\n[cache]\ncompress = 4"));
  const std::vector<Stage> edited_stages = plan_stages(load_study(dir_ / "study.ini"));
  EXPECT_TRUE(has(edited_stages[0], {"--mi-classes", "2,3"})) << edited_stages[0].id;
  EXPECT_TRUE(has(edited_stages[1], {"--compress", "4"})) << edited_stages[1].id;
  write(kTinyStudy);

  const auto before = hashes(stages);
  write(edited("epochs = 1", "epochs = 2"));  // the teachers' epochs
  const auto after = hashes(plan_stages(load_study(dir_ / "study.ini")));
  for (const auto& [id, hash] : before) {
    const bool downstream_of_teachers = id.rfind("baseline/", 0) != 0;
    EXPECT_EQ(after.at(id) != hash, downstream_of_teachers) << id;
  }
}

TEST_F(StudyTest, RunsSkipsAndRerunsOnlyWhatChanged) {
  const testing::ProcessResult first = run();
  ASSERT_EQ(first.status, 0) << first.output;
  EXPECT_NE(first.output.find("9 ran, 0 skipped"), std::string::npos) << first.output;
  EXPECT_TRUE(fs::exists(dir_ / "run" / "study.ini"));
  const auto manifest = nlohmann::json::parse(read_text(dir_ / "run" / "manifest.json"));
  EXPECT_EQ(manifest["stages"].size(), 9u);
  for (const auto& s : manifest["stages"]) EXPECT_EQ(s["state"], "ran") << s["id"];
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

TEST_F(StudyTest, ReportRecomputesFromTheStagesMetrics) {
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

// A stand-in for SLURM's sbatch: records its arguments and runs the job at once (submit.sh submits
// jobs in dependency order), then prints a job id as `sbatch --parsable` does.
const char* kFakeSbatch = R"(#!/usr/bin/env bash
n=$(( $(cat "$SBATCH_LOG" 2> /dev/null | wc -l) + 1 ))
echo "$n $*" >> "$SBATCH_LOG"
bash "${@: -1}" > /dev/null 2>&1 || echo "job $n failed" >> "$SBATCH_LOG"
echo "$n;cluster"
)";

TEST_F(StudyTest, SlurmExecutorWritesJobsThatRunTheStudy) {
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
  EXPECT_NE(calls.find("1 --parsable -p debug -t 9 jobs/001-teach-eps0-seed0.sh"),
            std::string::npos)
      << calls;
  EXPECT_NE(calls.find("2 --parsable -p debug -t 9 --dependency=afterok:1 jobs/002-cache-eps0"),
            std::string::npos)
      << calls;
  EXPECT_NE(calls.find("--dependency=afterok:2 jobs/003-distill-eps0-seed0"), std::string::npos)
      << calls;
  EXPECT_EQ(count(calls.substr(calls.find("\n10 ")), ":"), 9) << calls;
  // The jobs ran every stage; the last one rewrote the manifest and wrote the report.
  const auto manifest = nlohmann::json::parse(read_text(dir_ / "run" / "manifest.json"));
  for (const auto& s : manifest["stages"]) EXPECT_EQ(s["state"], "skipped") << s["id"];
  EXPECT_TRUE(fs::exists(dir_ / "run" / "report" / "report.json"));
  EXPECT_NE(run("--dry-run").output.find("0 would run, 9 done"), std::string::npos);

  // Everything done: nothing to submit.
  const testing::ProcessResult again = run("--executor slurm");
  EXPECT_NE(again.output.find("nothing to submit"), std::string::npos) << again.output;
}

TEST_F(StudyTest, OnlyRunsOneStageOnceItsDependenciesAreDone) {
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

// A stage whose folder cannot be made (a file stands in its place) fails; what reads it is blocked;
// the rest runs, and the manifest ends with every stage in a final state.
TEST_F(StudyTest, AStageThatCannotStartFailsAndBlocksItsDependants) {
  fs::create_directories(dir_ / "run" / "teach");
  std::ofstream(dir_ / "run" / "teach" / "eps0-seed0") << "in the way";
  const testing::ProcessResult r = run();
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("FAILED teach/eps0-seed0"), std::string::npos) << r.output;
  const auto manifest = nlohmann::json::parse(read_text(dir_ / "run" / "manifest.json"));
  std::map<std::string, std::string> state;
  for (const auto& st : manifest["stages"]) state[st["id"]] = st["state"];
  EXPECT_EQ(state["teach/eps0-seed0"], "failed");
  EXPECT_EQ(state["cache/eps0-seed0"], "blocked");
  EXPECT_EQ(state["teach/eps0.1-seed0"], "ran");
  for (const auto& [id, s] : state) EXPECT_NE(s, "running") << id;
}

// Without a validation split no teacher fits a temperature: the report says so instead of reading
// a missing field.
TEST_F(StudyTest, RefusesSeveralCacheSeeds) {
  const std::string e = error_for(edited("views = 2", "views = 2\nseed = 1 2"));
  EXPECT_NE(e.find("cache.seed: expected one seed"), std::string::npos) << e;
}

TEST_F(StudyTest, ReportsAStudyWithoutValidationSplit) {
  write(edited("val-size = 50", "val-size = 0"));
  const testing::ProcessResult r = run();
  ASSERT_EQ(r.status, 0) << r.output;
  const auto report = nlohmann::json::parse(read_text(dir_ / "run" / "report" / "report.json"));
  EXPECT_TRUE(report["teachers"][0]["temperature"].is_null());
  EXPECT_TRUE(fs::exists(dir_ / "run" / "report" / "report.html"));
}

TEST_F(StudyTest, AStageAnotherProcessIsRunningIsLeftAlone) {
  // As a concurrent `kdpipe run` or cluster job does while it runs teach/eps0-seed0.
  const fs::path lock_path = dir_ / "run" / "teach" / "eps0-seed0" / "stage.lock";
  fs::create_directories(lock_path.parent_path());
  const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  const testing::ProcessResult busy = run();
  EXPECT_EQ(busy.status, 1) << busy.output;
  EXPECT_NE(busy.output.find("FAILED teach/eps0-seed0: another kdpipe process is running it now"),
            std::string::npos)
      << busy.output;
  EXPECT_NE(busy.output.find("blocked cache/eps0-seed0"), std::string::npos) << busy.output;
  EXPECT_FALSE(fs::exists(dir_ / "run" / "teach" / "eps0-seed0" / "stage.json"));  // untouched
  ::close(fd);  // that process ends
  const testing::ProcessResult after = run();
  ASSERT_EQ(after.status, 0) << after.output;
  EXPECT_NE(after.output.find("4 ran, 5 skipped"), std::string::npos) << after.output;
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
  const testing::ProcessResult killed = run("--jobs 1", "KDPIPE_FAULT_KILL_AFTER_STAGES=3");
  EXPECT_EQ(killed.signal, SIGKILL) << killed.output;
  const testing::ProcessResult resumed = run("--jobs 1");
  ASSERT_EQ(resumed.status, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("6 ran, 3 skipped"), std::string::npos) << resumed.output;
  const testing::ProcessResult again = run();
  EXPECT_NE(again.output.find("0 ran, 9 skipped"), std::string::npos) << again.output;
}

TEST_F(StudyTest, AFailingStageBlocksItsDependantsAndIsReported) {
  write(edited("data-dir = data", "data-dir = nowhere"));
  const testing::ProcessResult r = run();
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("FAILED teach/eps0-seed0"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("nowhere"), std::string::npos) << r.output;  // the stage's own error
  EXPECT_NE(r.output.find("blocked cache/eps0-seed0"), std::string::npos) << r.output;
}

TEST_F(StudyTest, CliRefusesABadStudyWithOneLine) {
  write(edited("views = 2", "views = many"));
  const testing::ProcessResult r = run();
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_EQ(count(r.output, "\n"), 1) << r.output;
  EXPECT_NE(r.output.find("cache.views: expected a whole number, got 'many'"), std::string::npos)
      << r.output;
  // study.device is where the stages run; a device this build cannot use stops the run at once.
  if (!torch::cuda::is_available()) {
    write(edited("threads = 2", "threads = 2\ndevice = cuda"));
    const testing::ProcessResult cuda = run();
    EXPECT_EQ(cuda.status, 2) << cuda.output;
    EXPECT_NE(cuda.output.find("--device cuda"), std::string::npos) << cuda.output;
    EXPECT_FALSE(fs::exists(dir_ / "run" / "manifest.json"));
  }
}

}  // namespace
}  // namespace kd
