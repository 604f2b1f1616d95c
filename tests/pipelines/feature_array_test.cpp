// Data that is no images: an h5 file of float feature arrays (/train/inputs [N, ...]) runs teach →
// cache → distill → report with models written in Python, taken as it is (or standardised), with
// Gaussian noise as its augmentation; image-only options and zoo models are refused by name.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "lib/core/files.h"
#include "lib/data/augment.h"
#include "lib/data/datasets.h"
#include "storage/array_file.h"
#include "tests/support/errors.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace kd {
namespace {

namespace fs = std::filesystem;
using testing::ProcessResult;

class FeatureArrays : public ::testing::Test {
 protected:
  void SetUp() override {
    enable_array_files();
    const ProcessResult r = testing::run_command(
        "/usr/bin/python3 " +
        (testing::source_dir() / "tests/pipelines/feature_models.py").string() + " " +
        dir_.path().string());
    ASSERT_EQ(r.status, 0) << "needs Debian's python3-torch and python3-h5py: " << r.output;
  }
  std::string data(const std::string& file = "features.h5") const {
    return " --dataset " + (dir_ / file).string() + " --val-size 300 --threads 2 ";
  }
  static nlohmann::json metrics(const fs::path& dir) {
    return nlohmann::json::parse(read_text(dir / "metrics.json"));
  }
  testing::TempDir dir_;
};

// The file is read as it is: float32 (or float16) examples of 20 values, the class names, and
// each value's mean and std over the training file (used only by --standardize and the noise).
TEST_F(FeatureArrays, AreReadAsTheyAreAndAugmentedWithGaussianNoise) {
  const Dataset d = load_dataset(DataOptions((dir_ / "features.h5").string()).val_size(300));
  EXPECT_EQ(d.info.features, (std::vector<int64_t>{20}));
  EXPECT_EQ(d.info.classes, 5);
  EXPECT_EQ(d.info.class_names[4], "e");
  EXPECT_EQ(d.train.size() + d.val.size(), 1500);
  ASSERT_EQ(d.info.std.size(), 20u);
  const Dataset half = load_dataset(DataOptions((dir_ / "features16.h5").string()).val_size(300));
  EXPECT_LT((half.train.images - d.train.images).abs().max().item<double>(), 0.05);

  const torch::Tensor rows = torch::arange(8);
  const torch::Tensor plain = make_batch(d.train, d.info, rows, Augment::none, 0, 0);
  EXPECT_EQ(plain.sizes(), (std::vector<int64_t>{8, 20}));
  EXPECT_TRUE(torch::equal(plain, d.train.images.slice(0, 0, 8)));  // no pixel normalisation
  // Noise: the same draw for the same (seed, stream, example), another for another stream, of
  // about `noise` standard deviations of each value.
  const torch::Tensor a = make_batch(d.train, d.info, rows, Augment::shift_flip, 3, 1);
  EXPECT_TRUE(torch::equal(a, make_batch(d.train, d.info, rows, Augment::shift_flip, 3, 1)));
  EXPECT_FALSE(torch::equal(a, make_batch(d.train, d.info, rows, Augment::shift_flip, 3, 2)));
  const torch::Tensor all = torch::arange(d.train.size());
  const torch::Tensor std = torch::tensor(d.info.std);
  const torch::Tensor z =
      (make_batch(d.train, d.info, all, Augment::shift, 3, 1) - d.train.images) / std;
  EXPECT_NEAR(z.std().item<double>(), d.info.noise, 0.005);
  EXPECT_NEAR(z.mean().item<double>(), 0.0, 0.005);

  // --standardize: every value centred and scaled over the training file.
  const Dataset s =
      load_dataset(DataOptions((dir_ / "features.h5").string()).val_size(300).standardize(true));
  const torch::Tensor x = make_batch(s.train, s.info, all, Augment::none, 0, 0);
  EXPECT_LT(x.mean(0).abs().max().item<double>(), 0.1);
  EXPECT_LT((x.std(0) - 1).abs().max().item<double>(), 0.1);
}

// A study of TorchScript teacher and student on feature arrays, end to end.
TEST_F(FeatureArrays, RunTeachCacheDistillAndReportWithTorchScriptModels) {
  KD_SKIP_WITHOUT_GNUPLOT();
  std::ofstream(dir_ / "study.ini") << R"([study]
name = features
jobs = 2
threads = 1

[data]
dataset = features.h5
val-size = 300
standardize = true
feature-noise = 0.2

[teacher]
arch = torchscript:teacher.pt
smoothing = 0 0.1
epochs = 6
lr = 0.05
mi-examples = 20

[cache]
views = 2
temperatures = 2

[student]
arch = torchscript:student.pt
temperature = 2
epochs = 6
lr = 0.05

[baseline]
hard = true
smoothing =

[report]
projection-classes = 0 1 2
projection-examples = 5
)";
  const ProcessResult r = testing::run_kdpipe("run " + (dir_ / "study.ini").string() + " --out " +
                                              (dir_ / "run").string());
  ASSERT_EQ(r.status, 0) << r.output;
  const nlohmann::json teacher = metrics(dir_ / "run/teach/eps0-seed0");
  EXPECT_GT(teacher["test"]["accuracy"].get<double>(), 0.8) << teacher["test"].dump();
  EXPECT_EQ(teacher["dataset"]["shape"], nlohmann::json({20}));
  EXPECT_EQ(teacher["dataset"]["inputs"], "features");
  EXPECT_EQ(teacher["mutual_information"]["augment"], "gaussian-noise");
  EXPECT_EQ(teacher["mutual_information"]["noise_std"], 0.2);
  EXPECT_GT(teacher["mutual_information"]["final"].get<double>(), 0.0);
  const auto report = nlohmann::json::parse(read_text(dir_ / "run/report/report.json"));
  ASSERT_EQ(report["teachers"].size(), 2u);
  EXPECT_TRUE(report["teachers"][0].contains("projection")) << report["teachers"][0].dump();
  bool distilled = false;
  for (const auto& g : report["students"]) {
    if (g["kind"] == "distill") {
      distilled = true;
      EXPECT_GT(g["accuracy_mean"].get<double>(), 0.7) << g.dump();
    }
  }
  EXPECT_TRUE(distilled) << report["students"].dump();
}

// Options and models for images are refused on feature arrays, and the other way round, each in
// one line naming what is wrong.
TEST_F(FeatureArrays, ImageOptionsAndImageModelsAreRefused) {
  const fs::path out = dir_ / "t";
  testing::expect_one_line_error(
      testing::run_kdpipe("teach" + data() + "--arch cnn:4 --out " + out.string()),
      "--arch 'cnn:4': a cnn takes images, and the data holds feature arrays of shape [20]");
  testing::expect_one_line_error(
      testing::run_kdpipe("teach" + data() + "--image-size 8 --arch mlp:8 --out " + out.string()),
      "--image-size: " + (dir_ / "features.h5").string() + " holds feature arrays, not images");
  testing::expect_one_line_error(
      testing::run_kdpipe("teach --dataset mnist --data-dir " + dir_.path().string() +
                          " --standardize --out " + out.string()),
      "--standardize: mnist holds images");
  testing::expect_one_line_error(
      testing::run_kdpipe("teach" + data("nan.h5") + "--arch mlp:8 --out " + out.string()),
      "/train/inputs holds values that are not finite as float32");
  testing::expect_one_line_error(
      testing::run_kdpipe("teach" + data("both.h5") + "--arch mlp:8 --out " + out.string()),
      "/train holds both images and inputs");
  // A zoo MLP takes them (it flattens its input), and its model says what it takes.
  const ProcessResult mlp = testing::run_kdpipe(
      "teach" + data() + "--standardize --arch mlp:16 --epochs 2 --mi-examples 5 --out " +
      out.string());
  ASSERT_EQ(mlp.status, 0) << mlp.output;
  const ProcessResult inspected = testing::run_kdpipe("inspect " + (out / "model.pt").string());
  EXPECT_NE(inspected.output.find("input        [20] features, standardised"), std::string::npos)
      << inspected.output;
  // Its cache needs the same --standardize.
  testing::expect_one_line_error(
      testing::run_kdpipe("cache --teacher " + out.string() + data() + "--out " +
                          (dir_ / "c.h5").string()),
      "the model was trained on feature values standardised (--standardize)");
  // A cache made with --standardize teaches only students given it too.
  const fs::path cache = dir_ / "s.h5";
  ASSERT_EQ(testing::run_kdpipe("cache --teacher " + out.string() + data() +
                                "--standardize --views 2 --out " + cache.string())
                .status,
            0);
  testing::expect_one_line_error(
      testing::run_kdpipe("distill --cache " + cache.string() + data() + "--arch mlp:8 --out " +
                          (dir_ / "d").string()),
      "made from feature values standardised with noise 0.1, not as stored with noise 0.1");
  // And a study cannot feed feature arrays as pixels in [0, 1].
  std::ofstream(dir_ / "unit.ini") << "[data]\ndataset = features.h5\nval-size = 300\n"
                                   << "[teacher]\narch = torchscript:teacher.pt\ninput = unit\n";
  testing::expect_one_line_error(
      testing::run_kdpipe("run " + (dir_ / "unit.ini").string() + " --dry-run --out " +
                          (dir_ / "unit-run").string()),
      "teacher.input: --input unit: features holds feature arrays, not pixels to scale");
  testing::expect_one_line_error(
      testing::run_kdpipe("export " + out.string() + " --torchscript " + (dir_ / "e.pt").string()),
      "kdpipe export: error: the model takes feature arrays [20]");
}

}  // namespace
}  // namespace kd
