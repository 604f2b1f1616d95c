// A study whose teacher and students are the user's own architectures, written in Python and
// scripted (tests/lib/scripted_models.py): kdpipe trains both, caches the teacher's logits,
// distils the students and reports; a changed student file reruns only the stages that use it.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "lib/core/files.h"
#include "lib/models/zoo.h"
#include "tests/pipelines/study_fixture.h"

namespace kd {
namespace {

namespace fs = std::filesystem;

class OwnModelStudy : public testing::StudyTest {
 protected:
  void SetUp() override {
    StudyTest::SetUp();
    fs::create_directories(dir_ / "models");
    const testing::ProcessResult r = testing::run_command(
        "/usr/bin/python3 " + (testing::source_dir() / "tests/lib/scripted_models.py").string() +
        " save " + (dir_ / "models").string());
    ASSERT_EQ(r.status, 0) << "needs Debian's python3-torch (bash .ci/setup installs it): "
                           << r.output;
    std::string text = edited("arch = mlp:16", "arch = torchscript:models/cnn.pt");
    const auto at = text.find("arch = mlp:8");
    text.replace(at, std::string("arch = mlp:8").size(), "arch = torchscript:models/mlp.pt");
    write(text);
  }
};

TEST_F(OwnModelStudy, TrainsTheUsersTeacherAndStudentsEndToEnd) {
  KD_SKIP_WITHOUT_GNUPLOT();
  const testing::ProcessResult r = run("--jobs 1 --threads 1");
  ASSERT_EQ(r.status, 0) << r.output;
  // The teacher is trained (its model.pt is TorchScript with the trained weights) and a cache
  // made from it; the students' folders are named by the file's stem and a content hash.
  const LoadedModel teacher = load_model(dir_ / "run/teach/eps0-seed0/model.pt");
  EXPECT_EQ(teacher.meta.spec.rfind("torchscript:", 0), 0u) << teacher.meta.spec;
  EXPECT_TRUE(fs::exists(dir_ / "run/cache/eps0-seed0/train.h5"));
  bool student_seen = false;
  for (const auto& e : fs::recursive_directory_iterator(dir_ / "run/distill")) {
    if (e.path().filename() == "metrics.json") {
      EXPECT_NE(e.path().parent_path().filename().string().find("ts-mlp-"), std::string::npos)
          << e.path();
      student_seen = true;
    }
  }
  EXPECT_TRUE(student_seen);
  EXPECT_TRUE(fs::exists(dir_ / "run/report/report.html"));
  // The teacher follows the zoo's convention (features(x) and a Linear head): its penultimate
  // layer is projected as a zoo teacher's is.
  const auto report = nlohmann::json::parse(read_text(dir_ / "run/report/report.json"));
  EXPECT_TRUE(report["teachers"][0].contains("projection")) << report["teachers"][0].dump();
  EXPECT_FALSE(report["teachers"][0].contains("projection_note"));

  // A new student file: only the students rerun (baselines are students too); not the teachers
  // or their caches.
  const std::string bytes = read_text(dir_ / "models/mlp.pt");
  fs::remove(dir_ / "models/mlp.pt");
  const testing::ProcessResult save =
      testing::run_command("/usr/bin/python3 -c \"import torch,sys; sys.path.insert(0, '" +
                           (testing::source_dir() / "tests/lib").string() +
                           "'); import scripted_models as m; torch.manual_seed(5); "
                           "torch.jit.script(m.LnMlp()).save('" +
                           (dir_ / "models/mlp.pt").string() + "')\"");
  ASSERT_EQ(save.status, 0) << save.output;
  ASSERT_NE(read_text(dir_ / "models/mlp.pt"), bytes);
  const testing::ProcessResult dry = run("--dry-run");
  ASSERT_EQ(dry.status, 0) << dry.output;
  EXPECT_NE(dry.output.find("skip  teach/eps0-seed0"), std::string::npos) << dry.output;
  EXPECT_NE(dry.output.find("skip  cache/eps0-seed0"), std::string::npos) << dry.output;
  EXPECT_EQ(dry.output.find("run   teach/"), std::string::npos) << dry.output;
  EXPECT_NE(dry.output.find("run   distill/eps0-seed0/ts-mlp-"), std::string::npos) << dry.output;
}

// --input unit: a model from Python that takes pixels in [0, 1] is trained on them, its cache and
// its export take them too; a zoo model, which takes normalised images, refuses the option.
TEST_F(OwnModelStudy, InputUnitTrainsOnPixelsInZeroToOne) {
  const std::string data =
      " --dataset mnist --data-dir " + (dir_ / "data").string() + " --val-size 60 --threads 1 ";
  const fs::path teacher = dir_ / "unit-teacher";
  const testing::ProcessResult taught = testing::run_kdpipe(
      "teach" + data + "--arch torchscript:" + (dir_ / "models/cnn.pt").string() +
      " --input unit --epochs 1 --mi-examples 5 --out " + teacher.string());
  ASSERT_EQ(taught.status, 0) << taught.output;
  const LoadedModel m = load_model(teacher / "model.pt");
  EXPECT_EQ(m.meta.mean, std::vector<float>{0.0f});
  EXPECT_EQ(m.meta.std, std::vector<float>{1.0f});
  const auto metrics = nlohmann::json::parse(read_text(teacher / "metrics.json"));
  EXPECT_EQ(metrics["options"]["input"], "unit");

  const fs::path cache = dir_ / "unit.h5";
  const testing::ProcessResult normalised =
      testing::run_kdpipe("cache --teacher " + teacher.string() + data + "--out " + cache.string());
  EXPECT_NE(normalised.status, 0);
  EXPECT_NE(normalised.output.find("was trained on unit input"), std::string::npos)
      << normalised.output;
  const testing::ProcessResult cached =
      testing::run_kdpipe("cache --teacher " + teacher.string() + data +
                          "--input unit --views 1 --out " + cache.string());
  ASSERT_EQ(cached.status, 0) << cached.output;
  const testing::ProcessResult student =
      testing::run_kdpipe("distill --cache " + cache.string() + data +
                          "--arch torchscript:" + (dir_ / "models/mlp.pt").string() +
                          " --input unit --epochs 1 --out " + (dir_ / "unit-student").string());
  ASSERT_EQ(student.status, 0) << student.output;
  EXPECT_EQ(load_model(dir_ / "unit-student/model.pt").meta.std, std::vector<float>{1.0f});

  // Its export takes pixels in [0, 1] too: evaluated as a teacher with --input unit, it scores
  // what the teacher scored; without, it is refused rather than fed the wrong inputs.
  const fs::path exported = dir_ / "unit-export.pt";
  ASSERT_EQ(
      testing::run_kdpipe("export " + teacher.string() + " --torchscript " + exported.string())
          .status,
      0);
  const testing::ProcessResult wrong =
      testing::run_kdpipe("teach --torchscript " + exported.string() + data +
                          "--mi-examples 5 --out " + (dir_ / "wrong").string());
  EXPECT_EQ(wrong.status, 2) << wrong.output;
  EXPECT_NE(wrong.output.find("trained on pixels in [0, 1]: give --input unit"), std::string::npos)
      << wrong.output;
  const testing::ProcessResult again =
      testing::run_kdpipe("teach --torchscript " + exported.string() + data +
                          "--input unit --mi-examples 5 --out " + (dir_ / "again").string());
  ASSERT_EQ(again.status, 0) << again.output;
  EXPECT_NEAR(nlohmann::json::parse(read_text(dir_ / "again/metrics.json"))["test"]["accuracy"]
                  .get<double>(),
              metrics["test"]["accuracy"].get<double>(), 1e-9);

  for (const std::string& command :
       {"teach" + data + "--arch mlp:8 --input unit --out " + (dir_ / "x").string(),
        "distill --cache " + cache.string() + data + "--arch mlp:8 --input unit --out " +
            (dir_ / "y").string()}) {
    const testing::ProcessResult refused = testing::run_kdpipe(command);
    EXPECT_EQ(refused.status, 2) << refused.output;
    EXPECT_NE(refused.output.find("--input unit: only a TorchScript model"), std::string::npos)
        << refused.output;
  }
}

}  // namespace
}  // namespace kd
