#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "lib/core/error.h"
#include "lib/core/files.h"
#include "lib/data/datasets.h"
#include "lib/models/zoo.h"
#include "lib/train/classifier_metrics.h"
#include "tests/support/errors.h"
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
  // One letter changed inside an entry: the archive's CRC-32 catches it before LibTorch parses it.
  std::string damaged = bytes;
  const auto at = damaged.find("kdpipe-model");
  ASSERT_NE(at, std::string::npos);
  damaged[at + 11] = 'm';
  std::ofstream(dir / "damaged.pt", std::ios::binary) << damaged;
  const std::string e = testing::error_of([&] { load_model(dir / "damaged.pt"); });
  EXPECT_NE(e.find("loading model " + (dir / "damaged.pt").string() + ": entry '"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("' fails its CRC-32 check (damaged)"), std::string::npos) << e;
  torch::serialize::OutputArchive foreign;
  foreign.write("weights", torch::ones({2}));
  foreign.save_to((dir / "foreign.pt").string());
  EXPECT_THROW(load_model(dir / "foreign.pt"), StorageError);
}

// A checkpoint whose meta has one field changed, the rest as save_model writes it.
void write_meta(const std::filesystem::path& path, const std::string& key, const torch::IValue& v) {
  std::map<std::string, torch::IValue> meta = {
      {"kdpipe.format", torch::IValue(std::string("kdpipe-model"))},
      {"kdpipe.spec", torch::IValue(std::string("mlp:8"))},
      {"kdpipe.input", torch::tensor({int64_t{1}, int64_t{28}, int64_t{28}})},
      {"kdpipe.classes", torch::IValue(int64_t{10})},
      {"kdpipe.dataset", torch::IValue(std::string("mnist"))}};
  meta[key] = v;
  torch::serialize::OutputArchive archive;
  for (const auto& [name, value] : meta) archive.write(name, value);
  archive.save_to(path.string());
}

TEST(Checkpoint, RefusesMetaOfTheWrongTypeOrSizeNamingTheField) {
  testing::TempDir dir;
  const auto expect = [&](const std::string& key, const torch::IValue& v, const std::string& why) {
    write_meta(dir / "bad.pt", key, v);
    EXPECT_EQ(testing::error_of([&] { load_model(dir / "bad.pt"); }),
              "loading model " + (dir / "bad.pt").string() + ": " + why)
        << key;
  };
  expect("kdpipe.classes", torch::IValue(std::string("ten")),
         "field 'kdpipe.classes' should be a whole number in [1, 100000]");
  expect("kdpipe.spec", torch::IValue(int64_t{3}), "field 'kdpipe.spec' should be a string");
  expect("kdpipe.input", torch::tensor({int64_t{1}, int64_t{28}}),
         "field 'kdpipe.input' should be 3 values of type Long");
  expect("kdpipe.input", torch::tensor({int64_t{1}, int64_t{100000}, int64_t{28}}),
         "field 'kdpipe.input' should be channels (1 or 3), height and width (1 to 4096)");
  expect("kdpipe.mean", torch::ones({3}), "field 'kdpipe.mean' should be 1 values of type Float");
  expect("kdpipe.spec", torch::IValue(std::string("mlp:0")),
         "field 'kdpipe.spec': --arch 'mlp:0': '0' is not a positive whole number; expected "
         "mlp:W1-W2-..., cnn:W, "
         "resnet:D (D = 6n+2), alexnet or torchscript:FILE");
}

TEST(Checkpoint, AModelTooBigForMemoryIsNamedByItsSpec) {
  const std::string e = testing::error_of([] {
    make_model("mlp:65536-65536", {3, 4096, 4096}, 10);
  });
  EXPECT_EQ(
      e.rfind("--arch 'mlp:65536-65536': the model for 3x4096x4096 images and 10 classes does "
              "not fit in memory",
              0),
      0u)
      << e;
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
