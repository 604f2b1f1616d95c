// A study reaches each stage process as typed options turned into argv by the stage command's
// own table, and parsed back by that table. For every key of the study file: the argv of every
// stage planned reads back to itself (study → options → argv → options → argv), a key that
// changes a result changes some stage's command line, and a key that only says how to run
// (jobs, threads, device, executor, the report's picture) changes no stage's identity.
#include "pipelines/cli/stage_options.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <limits>
#include <map>
#include <set>

#include "lib/core/files.h"
#include "lib/data/datasets.h"
#include "pipelines/study/stages.h"
#include "pipelines/study/study_reader.h"
#include "storage/array_file.h"
#include "tests/support/temp_dir.h"

namespace kd {
namespace {

namespace fs = std::filesystem;
using Edit = std::function<void(Study&)>;

// A study with a TorchScript teacher and two of everything a list may hold, so that every key
// has stages to reach.
Study base_study(const testing::TempDir& dir) {
  write_text_atomically(dir / "a.pt", "not read, only hashed");
  write_text_atomically(dir / "b.pt", "another teacher");
  write_text_atomically(dir / "t.pt", "a model to train, only hashed here");
  // A feature array, for the keys of such data.
  enable_array_files();
  DatasetFiles features{{torch::zeros({4, 3}), torch::tensor({0, 1, 0, 1})},
                        {torch::ones({2, 3}), torch::tensor({0, 1})},
                        {"a", "b"}};
  write_array_file(dir / "features.h5", features, "test", 0);
  Study s;
  s.file = dir / "study.ini";
  s.data = DataOptions("mnist");
  s.torchscript = {dir / "a.pt"};
  s.torchscript_smoothing = {0.05};
  return s;
}

// One edit per key, each to a value other than the default.
std::map<std::string, Edit> edits(const fs::path& dir) {
  return {
      {"study.name", [](Study& s) { s.name = "other"; }},
      {"study.jobs", [](Study& s) { s.jobs = 2; }},
      {"study.threads", [](Study& s) { s.threads = 3; }},
      {"study.device", [](Study& s) { s.device = DeviceChoice::automatic; }},
      {"study.executor", [](Study& s) { s.executor = ExecutorKind::slurm; }},
      {"study.sbatch", [](Study& s) { s.sbatch = {"--time=1:00:00"}; }},
      {"data.dataset", [](Study& s) { s.data.name("fashion-mnist"); }},
      {"data.data-dir", [dir](Study& s) { s.data.data_dir(dir); }},
      {"data.val-size", [](Study& s) { s.data.val_size(100); }},
      {"data.image-size",
       [](Study& s) {
         s.data.format(ImageFormat{s.data.format().channels, 16, 16});
       }},
      {"data.channels",
       [](Study& s) {
         ImageFormat f = s.data.format();
         f.channels = 3;
         s.data.format(f);
       }},
      {"data.standardize",
       [dir](Study& s) {
         s.data = DataOptions((dir / "features.h5").string()).val_size(0).standardize(true);
       }},
      {"data.feature-noise",
       [dir](Study& s) {
         s.data = DataOptions((dir / "features.h5").string()).val_size(0).feature_noise(0.3);
       }},
      {"teacher.arch", [](Study& s) { s.teacher_arch = "mlp:64"; }},
      {"teacher.init",
       [dir](Study& s) {
         s.teacher_arch = "torchscript:" + (dir / "t.pt").string();
         s.teacher_init = ModelInit::file;
       }},
      {"teacher.input",
       [dir](Study& s) {
         s.teacher_arch = "torchscript:" + (dir / "t.pt").string();
         s.teacher_input = "unit";
       }},
      {"teacher.smoothing", [](Study& s) { s.teacher_smoothing = {0.2}; }},
      {"teacher.seeds", [](Study& s) { s.teacher_seeds = {1}; }},
      {"teacher.epochs", [](Study& s) { s.teacher_train.epochs(2); }},
      {"teacher.batch-size", [](Study& s) { s.teacher_train.batch_size(32); }},
      {"teacher.lr", [](Study& s) { s.teacher_train.lr(0.2); }},
      {"teacher.momentum", [](Study& s) { s.teacher_train.momentum(0.8); }},
      {"teacher.weight-decay", [](Study& s) { s.teacher_train.weight_decay(0.001); }},
      {"teacher.schedule", [](Study& s) { s.teacher_train.schedule(Schedule::constant); }},
      {"teacher.ranks", [](Study& s) { s.teacher_train.ranks(2); }},
      {"teacher.augment", [](Study& s) { s.teacher_train.augment(Augment::shift); }},
      {"teacher.torchscript", [dir](Study& s) { s.torchscript = {dir / "b.pt"}; }},
      {"teacher.torchscript-smoothing", [](Study& s) { s.torchscript_smoothing = {0.3}; }},
      {"teacher.torchscript-input", [](Study& s) { s.torchscript_input = "unit"; }},
      {"teacher.mi-classes",
       [](Study& s) {
         s.mi_classes = {2, 3};
       }},
      {"teacher.mi-examples", [](Study& s) { s.mi_examples = 50; }},
      {"teacher.mi-views", [](Study& s) { s.mi_views = 2; }},
      {"cache.views", [](Study& s) { s.views = 2; }},
      {"cache.temperatures", [](Study& s) { s.temperatures = {3}; }},
      {"cache.augment", [](Study& s) { s.cache_augment = Augment::shift; }},
      {"cache.seed", [](Study& s) { s.cache_seed = 7; }},
      {"cache.half", [](Study& s) { s.half = true; }},
      {"cache.compress", [](Study& s) { s.compress = 4; }},
      {"cache.top-k", [](Study& s) { s.top_k = 3; }},
      // The rule of a top-k cache (a full cache has none to change).
      {"cache.top-k-rule",
       [](Study& s) {
         s.top_k = 3;
         s.top_k_rule = TopKRule::renormalise;
       }},
      {"cache.chunk", [](Study& s) { s.cache_chunk = 512; }},
      {"cache.shards", [](Study& s) { s.cache_shards = 2; }},
      {"student.arch", [](Study& s) { s.student_archs = {"mlp:32"}; }},
      {"student.init",
       [dir](Study& s) {
         s.student_archs = {"torchscript:" + (dir / "t.pt").string()};
         s.student_init = ModelInit::file;
       }},
      {"student.input",
       [dir](Study& s) {
         s.student_archs = {"torchscript:" + (dir / "t.pt").string()};
         s.student_input = "unit";
       }},
      {"student.temperature", [](Study& s) { s.student_temperatures = {3}; }},
      {"student.alpha", [](Study& s) { s.alphas = {0.5}; }},
      {"student.student-temperature", [](Study& s) { s.student_temperature = 1; }},
      {"student.seeds", [](Study& s) { s.student_seeds = {4}; }},
      {"student.train-subset", [](Study& s) { s.train_subset = 100; }},
      {"student.val-every", [](Study& s) { s.student_val_every = 2; }},
      {"student.epochs", [](Study& s) { s.student_train.epochs(3); }},
      {"student.batch-size", [](Study& s) { s.student_train.batch_size(16); }},
      {"student.lr", [](Study& s) { s.student_train.lr(0.3); }},
      {"student.momentum", [](Study& s) { s.student_train.momentum(0.5); }},
      {"student.weight-decay", [](Study& s) { s.student_train.weight_decay(0.01); }},
      {"student.schedule", [](Study& s) { s.student_train.schedule(Schedule::step); }},
      {"student.ranks", [](Study& s) { s.student_train.ranks(2); }},
      {"baseline.hard", [](Study& s) { s.baseline_hard = false; }},
      {"baseline.smoothing", [](Study& s) { s.baseline_smoothing = {0.3}; }},
      {"report.projection-classes",
       [](Study& s) {
         s.projection_classes = {3, 4, 5};
       }},
      {"report.projection-examples", [](Study& s) { s.projection_examples = 10; }},
      {"study.max-seeds", [](Study& s) { s.max_seeds = 8; }},
      {"study.precision", [](Study& s) { s.precision = 0.5; }},
  };
}

// Keys that say how a study runs or is reported, never what a stage computes (max-seeds adds
// stages in rounds; it changes none of the listed ones).
const std::set<std::string> kExecutionKeys = {"study.name",
                                              "study.max-seeds",
                                              "study.precision",
                                              "study.jobs",
                                              "study.threads",
                                              "study.device",
                                              "study.executor",
                                              "study.sbatch",
                                              "report.projection-classes",
                                              "report.projection-examples"};

// A stage's argv parsed by its command's tables and written again.
std::vector<std::string> reparsed(const Stage& st) {
  const std::string& name = st.args.at(0);
  const std::vector<std::string> argv(st.args.begin() + 1, st.args.end());
  std::vector<std::string> again = {name};
  std::vector<std::string> rest;
  if (name == "teach") {
    rest =
        cli::teach_argv(cli::teach_options_from(cli::parse_stage_args(argv, cli::teach_tables())));
  } else if (name == "cache") {
    rest =
        cli::cache_argv(cli::cache_options_from(cli::parse_stage_args(argv, cli::cache_tables())));
  } else if (name == "distill") {
    rest = cli::distill_argv(
        cli::distill_options_from(cli::parse_stage_args(argv, cli::distill_tables())));
  } else {
    EXPECT_EQ(name, "cache-merge") << st.id;  // untyped: its shard files, and --compress
    rest = argv;
  }
  again.insert(again.end(), rest.begin(), rest.end());
  return again;
}

std::map<std::string, std::vector<std::string>> commands(const std::vector<Stage>& stages) {
  std::map<std::string, std::vector<std::string>> out;
  for (const Stage& st : stages) out[st.id] = st.args;
  return out;
}

std::map<std::string, std::string> identities(const std::vector<Stage>& stages) {
  std::map<std::string, std::string> out;
  for (const Stage& st : stages) out[st.id] = st.input_hash;
  return out;
}

TEST(StageOptions, EveryKeyHasAnEditThatChangesIt) {
  const testing::TempDir dir;
  const auto all = edits(dir.path());
  for (const study_file::StudyKey& key : study_file::keys()) {
    ASSERT_TRUE(all.count(key.name)) << key.name << ": add an edit for the new key";
    Study s = base_study(dir);
    all.at(key.name)(s);
    EXPECT_NE(key.write(s), key.write(base_study(dir))) << key.name;
  }
}

TEST(StageOptions, EveryStageCommandReadsBackToItselfForEveryKey) {
  const testing::TempDir dir;
  const std::vector<Stage> base = plan_stages(base_study(dir));
  for (const auto& [key, edit] : edits(dir.path())) {
    Study s = base_study(dir);
    edit(s);
    const std::vector<Stage> stages = plan_stages(s);
    for (const Stage& st : stages) EXPECT_EQ(reparsed(st), st.args) << key << ": " << st.id;
    if (kExecutionKeys.count(key)) {
      EXPECT_EQ(identities(stages), identities(base)) << key << " changed a stage's identity";
    } else {
      EXPECT_NE(commands(stages), commands(base)) << key << " reaches no stage";
    }
  }
}

// A built-in dataset's folder is spelled out on every command line: naming the default folder
// and leaving it out are the same stages.
TEST(StageOptions, TheDefaultDataFolderSpelledOutIsTheSameStudy) {
  const testing::TempDir dir;
  Study named = base_study(dir);
  named.data.data_dir(default_data_dir("mnist"));
  EXPECT_EQ(identities(plan_stages(named)), identities(plan_stages(base_study(dir))));
  for (const Stage& st : plan_stages(base_study(dir))) {
    if (st.args[0] == "cache-merge") continue;
    const auto at = std::find(st.args.begin(), st.args.end(), "--data-dir");
    ASSERT_NE(at, st.args.end()) << st.id;
    EXPECT_EQ(*(at + 1), default_data_dir("mnist").string()) << st.id;
  }
}

// A stage's options are checked when the study is planned, by the stage's own checks: a study
// that would fail in its third stage fails before the first.
TEST(StageOptions, EveryStageIsCheckedWhenPlanned) {
  const testing::TempDir dir;
  const std::vector<std::pair<Edit, std::string>> bad = {
      {[](Study& s) { s.student_temperatures = {1e-45}; }, "--temperature: expected a temperature"},
      {[](Study& s) { s.temperatures = {1e-45}; }, "--temperatures: expected a temperature"},
      {[](Study& s) { s.student_temperature = 1e-300; }, "--student-temperature"},
      {[](Study& s) { s.student_train.lr(std::numeric_limits<double>::infinity()); },
       "--lr: expected a positive rate"},
      {[](Study& s) { s.student_archs = {"mlp:-3"}; }, "widths are positive"}};
  for (const auto& [edit, expected] : bad) {
    Study s = base_study(dir);
    edit(s);
    try {
      plan_stages(s);
      ADD_FAILURE() << "planned: " << expected;
    } catch (const ConfigError& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find((dir / "study.ini").string() + ": stage '"), std::string::npos) << msg;
      EXPECT_NE(msg.find(expected), std::string::npos) << msg;
    }
  }
}

}  // namespace
}  // namespace kd
