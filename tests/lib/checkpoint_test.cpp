#include <gtest/gtest.h>

#include <fstream>

#include "lib/core/error.h"
#include "lib/core/files.h"
#include "lib/data/datasets.h"
#include "lib/models/zoo.h"
#include "lib/train/classifier_metrics.h"
#include "tests/support/temp_dir.h"

namespace kd {
namespace {

TEST(Checkpoint, RoundTripGivesTheSamePredictions) {
  testing::TempDir dir;
  for (const std::string spec : {"mlp:32-16", "cnn:4", "resnet:20", "alexnet"}) {
    torch::manual_seed(5);
    const InputShape input{3, 32, 32};
    const Classifier model = make_model(spec, input, 7);
    // Move batch-norm statistics away from their initial values so they must be saved too.
    model->train();
    {
      torch::NoGradGuard no_grad;
      model->forward(torch::randn({8, 3, 32, 32}) * 3 + 1);
    }
    model->eval();
    const torch::Tensor x = torch::randn({5, 3, 32, 32});
    const torch::Tensor before = model->forward(x);
    save_model(model,
               {spec,
                input,
                7,
                "cifar10",
                {0.1f, 0.2f, 0.3f},
                {0.5f, 0.5f, 0.5f},
                {"a", "b", "c", "d", "e", "f", "g"}},
               dir / "model.pt");
    const LoadedModel loaded = load_model(dir / "model.pt");
    EXPECT_EQ(loaded.meta.spec, spec);
    EXPECT_EQ(loaded.meta.classes, 7);
    EXPECT_EQ(loaded.meta.dataset, "cifar10");
    EXPECT_EQ(loaded.meta.input.channels, 3);
    EXPECT_EQ(loaded.meta.mean, (std::vector<float>{0.1f, 0.2f, 0.3f}));
    EXPECT_EQ(loaded.meta.std, (std::vector<float>{0.5f, 0.5f, 0.5f}));
    EXPECT_EQ(loaded.meta.class_names.size(), 7u);
    EXPECT_EQ(loaded.meta.class_names[6], "g");
    loaded.model->eval();
    EXPECT_TRUE(loaded.model->forward(x).equal(before)) << spec;
  }
}

TEST(Checkpoint, RefusesMissingTruncatedAndForeignFiles) {
  testing::TempDir dir;
  EXPECT_THROW(load_model(dir / "absent.pt"), StorageError);
  const Classifier model = make_model("mlp:8", {1, 28, 28}, 10);
  save_model(model, model_meta("mlp:8", dataset_info("mnist")), dir / "model.pt");
  const std::string bytes = read_text(dir / "model.pt");
  std::ofstream(dir / "cut.pt", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  try {
    load_model(dir / "cut.pt");
    ADD_FAILURE() << "loaded a truncated checkpoint";
  } catch (const StorageError& e) {
    EXPECT_NE(std::string(e.what()).find("cut.pt"), std::string::npos) << e.what();
  }
  torch::serialize::OutputArchive foreign;
  foreign.write("weights", torch::ones({2}));
  foreign.save_to((dir / "foreign.pt").string());
  EXPECT_THROW(load_model(dir / "foreign.pt"), StorageError);
}

TEST(Checkpoint, WritesAtomically) {
  testing::TempDir dir;
  const Classifier model = make_model("mlp:8", {1, 28, 28}, 10);
  save_model(model, model_meta("mlp:8", dataset_info("mnist")), dir / "model.pt");
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    EXPECT_EQ(entry.path().filename(), "model.pt");  // no temporary left behind
  }
  // A failing writer leaves neither the final name nor the temporary.
  EXPECT_THROW(write_atomically(dir / "x.json",
                                [](const std::filesystem::path& tmp) {
                                  std::ofstream(tmp) << "partial";
                                  throw StorageError("disk full");
                                }),
               StorageError);
  EXPECT_FALSE(std::filesystem::exists(dir / "x.json"));
  EXPECT_FALSE(std::filesystem::exists(temporary_path_for(dir / "x.json")));
}

TEST(Predictions, RoundTripAndRefuseOtherFiles) {
  testing::TempDir dir;
  const TestPredictions p{torch::randn({7, 3}), torch::tensor({0, 1, 2, 0, 1, 2, 0}), "abc"};
  save_test_predictions(dir / "predictions.pt", p);
  const TestPredictions back = load_test_predictions(dir / "predictions.pt");
  EXPECT_TRUE(back.logits.equal(p.logits));
  EXPECT_TRUE(back.labels.equal(p.labels));
  EXPECT_EQ(back.test_fingerprint, "abc");
  std::ofstream(dir / "junk.pt") << "junk";
  EXPECT_THROW(load_test_predictions(dir / "junk.pt"), StorageError);
}

}  // namespace
}  // namespace kd
