#include "teachers/teach.h"

#include <gtest/gtest.h>
#include <torch/script.h>

#include <cmath>

#include "lib/core/error.h"
#include "lib/core/files.h"
#include "lib/core/hash.h"
#include "lib/data/datasets.h"
#include "lib/metrics/calibration.h"
#include "lib/models/zoo.h"
#include "lib/train/evaluate.h"
#include "teachers/mi_probe.h"
#include "tests/support/synthetic.h"
#include "tests/support/temp_dir.h"

namespace kd {
namespace {

TeachOptions tiny(const testing::TempDir& dir, double eps) {
  return TeachOptions()
      .data(DataOptions("mnist").data_dir(dir / "data").val_size(100))
      .arch("mlp:32")
      .smoothing(eps)
      .train(TrainOptions().epochs(2).batch_size(32).lr(0.05).augment(Augment::shift))
      .mi(MiProbeOptions().examples_per_class(10).views(3))
      .out(dir / "teacher");
}

// Teaches with `o`, checks that the result returned is the one written, and returns what was
// written (metrics.json, the result's serialisation).
nlohmann::json run(const TeachOptions& o) {
  Progress quiet = Progress::silent();
  const TeachResult r = teach(o, quiet);
  const nlohmann::json m = nlohmann::json::parse(read_text(o.out() / "metrics.json"));
  EXPECT_EQ(m["test"]["accuracy"].get<double>(), r.stage.evaluation.test.accuracy);
  EXPECT_EQ(m["mutual_information"]["final"].get<double>(), r.mi_final);
  EXPECT_EQ(m["mutual_information"]["per_epoch"].get<std::vector<double>>(), r.mi_per_epoch);
  EXPECT_EQ(m["model"]["checkpoint_hash"], r.stage.model.checkpoint_hash);
  return m;
}

TEST(Teach, WritesModelMetricsAndLog) {
  testing::TempDir dir;
  testing::write_synthetic_mnist(dir / "data", 500, 120);
  const nlohmann::json m = run(tiny(dir, 0.1));
  for (const char* f : {"model.pt", "metrics.json", "train.log"}) {
    EXPECT_TRUE(std::filesystem::exists(dir / "teacher" / f)) << f;
  }
  EXPECT_EQ(m["kind"], "teacher");
  EXPECT_EQ(m["options"]["smoothing"], 0.1);
  for (const char* split : {"test", "val"}) {
    // A fraction of whole examples, and above chance (10 classes) on learnable synthetic data.
    const double correct = m[split]["accuracy"].get<double>() * m[split]["count"].get<double>();
    EXPECT_NEAR(correct, std::round(correct), 1e-6) << split;
    EXPECT_GT(m[split]["accuracy"].get<double>(), 0.2) << split;
    EXPECT_GT(m[split]["nll"].get<double>(), 0.0);
    EXPECT_EQ(m[split]["reliability"].size(), 15u);
  }
  EXPECT_GT(m["temperature_scaling"]["temperature"].get<double>(), 0.0);
  EXPECT_EQ(m["temperature_scaling"]["fitted_on"], "val");
  EXPECT_EQ(m["mutual_information"]["per_epoch"].size(), 2u);
  EXPECT_NEAR(m["mutual_information"]["upper_bound"].get<double>(), std::log(20.0), 1e-9);
  EXPECT_EQ(m["epochs"].size(), 2u);
  EXPECT_TRUE(m["epochs"][0].contains("val_accuracy"));
  EXPECT_GT(m["train"]["stability"].get<double>(), 0.0);
  EXPECT_EQ(m["model"]["checkpoint_hash"], hash_file(dir / "teacher" / "model.pt"));

  // The checkpoint reproduces the recorded test accuracy.
  const LoadedModel loaded = load_model(dir / "teacher" / "model.pt");
  const Dataset data = load_dataset(DataOptions("mnist").data_dir(dir / "data").val_size(100));
  const torch::Tensor logits = predict(loaded.model, data.test, data.info, PredictOptions()).logits;
  EXPECT_DOUBLE_EQ(calibration(logits, data.test.labels).accuracy,
                   m["test"]["accuracy"].get<double>());
  EXPECT_NE(read_text(dir / "teacher" / "train.log").find("epoch 2/2"), std::string::npos);
}

TEST(Teach, RefusesBadOptionsBeforeAnyWork) {
  testing::TempDir dir;  // no data at all: validation must fail first
  EXPECT_THROW(tiny(dir, 1.0).validate(), ConfigError);
  EXPECT_THROW(tiny(dir, -0.1).validate(), ConfigError);
  EXPECT_THROW(tiny(dir, 0.1).arch("mlp:x").validate(), ConfigError);
  TeachOptions zero = tiny(dir, 0.1);
  zero.train().epochs(0);
  EXPECT_THROW(zero.validate(), ConfigError);
  Progress quiet = Progress::silent();
  EXPECT_THROW(teach(tiny(dir, 0.1), quiet), DataError);  // valid options, missing data
  EXPECT_FALSE(std::filesystem::exists(dir / "teacher" / "metrics.json"));
}

// A TorchScript classifier as it might arrive from Python: a linear map on flattened pixels.
torch::jit::Module linear_module(int64_t inputs) {
  torch::jit::Module m("Linear");
  torch::manual_seed(3);
  m.register_parameter("w", torch::randn({inputs, 10}) * 0.05, false);
  m.register_parameter("b", torch::randn({10}), false);
  m.define(R"(
    def forward(self, x):
        return torch.matmul(x.flatten(1), self.w) + self.b
  )");
  return m;
}

TEST(Teach, EvaluatesATorchScriptTeacherWithoutTrainingIt) {
  testing::TempDir dir;
  testing::write_synthetic_mnist(dir / "data", 500, 120);
  torch::jit::Module m = linear_module(784);
  m.save((dir / "linear.pt").string());
  Progress quiet = Progress::silent();
  const nlohmann::json got =
      run(tiny(dir, 0.1).arch("").torchscript(dir / "linear.pt").input("unit"));
  EXPECT_FALSE(std::filesystem::exists(dir / "teacher" / "model.pt"));
  EXPECT_EQ(got["kind"], "teacher");
  EXPECT_EQ(got["model"]["source"], "torchscript");
  EXPECT_EQ(got["model"]["checkpoint_hash"], hash_file(dir / "linear.pt"));
  EXPECT_EQ(got["options"]["input"], "unit");
  EXPECT_EQ(got["target_gamma"], 0.1);  // the ε the user says it was trained with
  EXPECT_TRUE(got["epochs"].empty());
  ASSERT_EQ(got["mutual_information"]["per_epoch"].size(), 1u);
  EXPECT_GE(got["mutual_information"]["final"].get<double>(), 0.0);
  EXPECT_LE(got["mutual_information"]["final"].get<double>(), std::log(20.0));

  // Its recorded test accuracy is the module's own, on pixels in [0, 1].
  const Dataset data = load_dataset(DataOptions("mnist").data_dir(dir / "data").val_size(100));
  const torch::Tensor x = data.test.images.to(torch::kFloat32).div(255).flatten(1);
  const torch::Tensor logits = torch::matmul(x, m.attr("w").toTensor()) + m.attr("b").toTensor();
  EXPECT_DOUBLE_EQ(calibration(logits, data.test.labels).accuracy,
                   got["test"]["accuracy"].get<double>());

  // A module that cannot take the data is refused before anything is written.
  linear_module(3072).save((dir / "wide.pt").string());
  try {
    teach(tiny(dir, 0).torchscript(dir / "wide.pt").out(dir / "wide"), quiet);
    ADD_FAILURE() << "accepted a module of the wrong input shape";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("wide.pt"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(
                  "forward failed on a batch of 2 mnist images of shape [2, 1, 28, 28]"),
              std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "wide" / "metrics.json"));
  EXPECT_THROW(tiny(dir, 0).torchscript(dir / "linear.pt").input("bytes").validate(), ConfigError);
}

// A teacher whose logits are NaN is an error, not an evaluation with "ECE nan".
TEST(Teach, RefusesATeacherWhoseLogitsAreNotFinite) {
  testing::TempDir dir;
  testing::write_synthetic_mnist(dir / "data", 200, 60);
  testing::save_nan_teacher(dir / "nan.pt");
  Progress quiet = Progress::silent();
  try {
    teach(tiny(dir, 0.1).arch("").torchscript(dir / "nan.pt").input("unit"), quiet);
    ADD_FAILURE() << "no error";
  } catch (const TrainingError& e) {
    EXPECT_NE(std::string(e.what()).find("non-finite logits (NaN or infinity) for 60 of 60 test"),
              std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "teacher" / "metrics.json"));
}

// The probe's bounds and bookkeeping on an untrained model (its values over training are
// checked by the teach tests): Î within [0, log N], the views fixed, bad classes refused, and a
// class with fewer examples than asked used as it is, and said.
TEST(MiProbe, StaysInItsBoundsUsesWhatThereIsAndRefusesBadClasses) {
  const ImageSet train = testing::make_synthetic(400, 10, 1, 28, 3);
  DatasetInfo info = dataset_info("mnist");
  EXPECT_THROW(MiProbe(train, info, MiProbeOptions().class_a(1).class_b(1)), ConfigError);
  EXPECT_THROW(MiProbe(train, info, MiProbeOptions().class_b(10)), ConfigError);
  const MiProbe few(train, info, MiProbeOptions().examples_per_class(1000));
  EXPECT_LT(few.describe()["examples_per_class"].get<int64_t>(), 1000);
  EXPECT_EQ(few.describe()["examples_per_class_asked"], 1000);
  EXPECT_NE(few.note().find("not 1000: class "), std::string::npos) << few.note();
  EXPECT_NEAR(few.upper_bound(), std::log(2.0 * few.describe()["examples_per_class"].get<double>()),
              1e-12);
  const MiProbe probe(train, info, MiProbeOptions().examples_per_class(20).views(4));
  torch::manual_seed(0);
  const Classifier model = make_model("mlp:16", {1, 28, 28}, 10);
  const double mi = probe.measure(model);
  EXPECT_GE(mi, 0.0);
  EXPECT_LE(mi, probe.upper_bound() + 1e-9);
  EXPECT_DOUBLE_EQ(probe.measure(model), mi);  // the views are fixed, not redrawn
}

}  // namespace
}  // namespace kd
