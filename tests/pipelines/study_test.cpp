#include "pipelines/study/study.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <torch/script.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "lib/core/error.h"
#include "lib/core/files.h"
#include "lib/data/datasets.h"
#include "pipelines/study/stages.h"
#include "pipelines/study/study_reader.h"
#include "storage/cache_stage.h"
#include "teachers/mi_probe.h"
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
  EXPECT_EQ(s.device, DeviceChoice::cpu);                   // the default
  EXPECT_EQ(s.mi_classes, (std::array<int64_t, 2>{0, 1}));  // the default
  EXPECT_EQ(s.projection_classes, (std::array<int64_t, 3>{3, 1, 4}));
  EXPECT_EQ(s.projection_examples, 5);
  // The resolved text reads back to the same study.
  write(to_ini(s));
  const Study back = load_study(dir_ / "study.ini");
  EXPECT_EQ(to_ini(back), to_ini(s));
  // ... and plans the same stages, hash for hash: a value lost or rounded on the way would change
  // one (the hashes cover every stage's command line).
  const std::vector<Stage> planned = plan_stages(s), replanned = plan_stages(back);
  ASSERT_EQ(planned.size(), replanned.size());
  for (std::size_t i = 0; i < planned.size(); ++i)
    EXPECT_EQ(planned[i].input_hash, replanned[i].input_hash) << planned[i].id;
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

// Each default lives once: the key table reads a study's defaults from Study itself, and where a
// study option is a stage option, the study's default is the stage's.
TEST(DefaultStudy, DefaultsAreTheStagesOwn) {
  const Study s;
  for (const study_file::StudyKey& key : study_file::keys())
    EXPECT_EQ(key.default_value, key.write(s)) << key.name;
  EXPECT_EQ(s.cache_chunk, CacheOptions().chunk());
  EXPECT_EQ(s.cache_augment, CacheOptions().augment());
  EXPECT_EQ(s.cache_seed, CacheOptions().seed());
  EXPECT_EQ(s.student_val_every, DistillOptions().val_every());
  EXPECT_EQ(s.train_subset, DistillOptions().train_subset());
  EXPECT_EQ(s.data.val_size(), DataOptions().val_size());
  EXPECT_EQ(s.teacher_train.batch_size(), TrainOptions().batch_size());
  EXPECT_EQ(s.mi_examples, MiProbeOptions().examples_per_class());
  EXPECT_EQ(s.mi_views, MiProbeOptions().views());
  // A baseline without a cache draws views as `kdpipe cache` does.
  EXPECT_EQ(DistillOptions().views().augment, CacheOptions().augment());
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
    if (s.kind == StageKind::distill) {
      EXPECT_EQ(s.deps.size(), 1u);
    }
  }
  auto hashes = [](const std::vector<Stage>& v) {
    std::map<std::string, std::string> h;
    for (const Stage& s : v) h[s.id] = s.input_hash;
    return h;
  };
  // Every identity option is on its stage's command line, defaults too: a stage's identity is
  // the hash of its canonical options.
  auto has = [](const Stage& st, const std::vector<std::string>& words) {
    return std::search(st.args.begin(), st.args.end(), words.begin(), words.end()) != st.args.end();
  };
  EXPECT_TRUE(has(stages[0], {"--mi-classes", "0,1"}));
  EXPECT_TRUE(has(stages[1], {"--compress", "0"}));
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

// A training option's check names the key of that option, not the first key of its section.
TEST_F(StudyTest, RefusesATrainingValueNamingItsKey) {
  std::string msg = error_for(edited("epochs = 2", "epochs = 2\nlr = 0"));
  EXPECT_NE(msg.find("student.lr: expected a positive rate, got 0"), std::string::npos) << msg;
  msg = error_for(edited("epochs = 1", "epochs = 1\nmomentum = 1"));
  EXPECT_NE(msg.find("teacher.momentum: expected a value in [0, 1)"), std::string::npos) << msg;
}

// The files of a built-in dataset's folder are part of every stage's identity: changing one
// reruns everything, as for the user's own data.
TEST_F(StudyTest, StagesDependOnTheBuiltInDatasetsFiles) {
  const auto hashes = [&] {
    std::map<std::string, std::string> h;
    for (const Stage& s : plan_stages(load_study(dir_ / "study.ini"))) h[s.id] = s.input_hash;
    return h;
  };
  const auto before = hashes();
  EXPECT_EQ(hashes(), before);
  std::ofstream(dir_ / "data" / "train-labels-idx1-ubyte.gz", std::ios::app) << "x";
  const auto after = hashes();
  for (const auto& [id, hash] : before) EXPECT_NE(after.at(id), hash) << id;
}

TEST_F(StudyTest, RefusesSeveralCacheSeeds) {
  const std::string e = error_for(edited("views = 2", "views = 2\nseed = 1 2"));
  EXPECT_NE(e.find("cache.seed: expected one seed"), std::string::npos) << e;
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

// A study's name becomes a folder under runs/: one component, never a path out of it; an empty
// file does not silently stand for the default study.
TEST_F(StudyTest, RefusesNamesThatLeaveRunsAndEmptyStudies) {
  for (const std::string& name :
       std::vector<std::string>{"../../etc", "a/b", "..", std::string(200, 'x')}) {
    const std::string msg = error_for(edited("name = tiny", "name = " + name));
    EXPECT_NE(msg.find("study.name: expected one folder name"), std::string::npos) << msg;
    EXPECT_LT(msg.size(), 300u);  // the name is not echoed back
  }
  const std::string msg = error_for("");
  EXPECT_NE(msg.find("the study sets no keys"), std::string::npos) << msg;
}

// A byte-order mark, as Windows editors write, is not part of the first line.
TEST_F(StudyTest, ReadsAStudyWithAByteOrderMark) {
  write("\xEF\xBB\xBF" + std::string(testing::kTinyStudy));
  EXPECT_EQ(load_study(dir_ / "study.ini").name, "tiny");
  const std::string msg = error_for("\xEF\xBB\xBF[study]\nname = a/b\n");
  EXPECT_NE(msg.find("study.ini:2: study.name"), std::string::npos) << msg;
}

// A line that is no key, section or comment is named by its number, and a long one is cut short.
TEST_F(StudyTest, RefusesALineThatIsNoKeySectionOrComment) {
  const std::string expected =
      "study.ini:3: expected 'key = value', '[section]' or a '#' comment, got ";
  std::string msg = error_for("[study]\nname = x\nthis is no key\n");
  EXPECT_NE(msg.find(expected + "'this is no key'"), std::string::npos) << msg;
  msg = error_for("[study]\nname = x\n[teacher\narch = mlp:4\n");
  EXPECT_NE(msg.find(expected + "'[teacher'"), std::string::npos) << msg;
  msg = error_for("[study]\nname = x\n" + std::string(100000, 'y') + "\n");
  EXPECT_NE(msg.find(expected + "'" + std::string(60, 'y') + "...'"), std::string::npos) << msg;
  EXPECT_LT(msg.size(), 300u);
}

}  // namespace
}  // namespace kd
