// Every zoo family written as TorchScript computes the logits of the LibTorch model it came from.
#include "lib/models/export.h"

#include <gtest/gtest.h>

#include "lib/core/error.h"
#include "lib/data/augment.h"
#include "tests/support/temp_dir.h"

namespace kd {
namespace {

// A model of `spec` with random weights and batch-norm statistics away from their initial 0 / 1,
// so that export has to carry every buffer to match.
LoadedModel random_model(const std::string& spec, const InputShape& input) {
  torch::manual_seed(7);
  LoadedModel m;
  m.model = make_model(spec, input, 5);
  torch::NoGradGuard no_grad;
  for (auto& b : m.model->named_buffers()) {
    if (b.key().find("running_mean") != std::string::npos) b.value().uniform_(-0.5, 0.5);
    if (b.key().find("running_var") != std::string::npos) b.value().uniform_(0.5, 2.0);
  }
  m.model->eval();
  m.meta.spec = spec;
  m.meta.input = input;
  m.meta.classes = 5;
  m.meta.dataset = "synthetic";
  m.meta.mean.assign(static_cast<std::size_t>(input.channels), 0.3f);
  m.meta.std.assign(static_cast<std::size_t>(input.channels), 0.25f);
  m.meta.class_names = {"a", "b", "c", "d", "e"};
  return m;
}

TEST(Export, EveryFamilyGivesTheModelsLogits) {
  for (const auto& [spec, input] : {std::pair<std::string, InputShape>{"mlp:32-16", {1, 28, 28}},
                                    {"cnn:8", {1, 28, 28}},
                                    {"resnet:14", {3, 32, 32}},
                                    {"alexnet", {3, 32, 32}}}) {
    const LoadedModel m = random_model(spec, input);
    torch::jit::Module module = to_torchscript(m);
    ImageSet set{
        torch::randint(0, 256, {6, input.channels, input.height, input.width}, torch::kUInt8),
        torch::zeros({6}, torch::kInt64)};
    DatasetInfo info;
    info.mean = m.meta.mean, info.std = m.meta.std;
    const torch::Tensor x = make_batch(set, info, torch::arange(6), Augment::none, 0, 0);
    torch::NoGradGuard no_grad;
    const torch::Tensor want = m.model->forward(x);
    const torch::Tensor got = module.forward({x}).toTensor();
    EXPECT_LE((got - want).abs().max().item<double>(), 1e-5) << spec;
    // classify(pixels) is forward(preprocess(pixels)), with kdpipe's own normalisation.
    const torch::Tensor classified = module.run_method("classify", set.images).toTensor();
    EXPECT_TRUE(classified.equal(got)) << spec;
    const torch::Tensor features = module.run_method("features", x).toTensor();
    EXPECT_LE((features - m.model->features(x)).abs().max().item<double>(), 1e-5) << spec;
    EXPECT_EQ(module.attr("arch").toStringRef(), spec);
    EXPECT_EQ(module.attr("class_names").toList().size(), 5u);
  }
}

TEST(Export, SavedFileCarriesItsDescription) {
  testing::TempDir dir;
  const LoadedModel m = random_model("mlp:8", {1, 6, 6});
  export_torchscript(m, dir / "m.pt");
  torch::jit::ExtraFilesMap extra{{"kdpipe.json", ""}};
  torch::jit::Module loaded = torch::jit::load((dir / "m.pt").string(), torch::kCPU, extra);
  const auto d = nlohmann::json::parse(extra["kdpipe.json"]);
  EXPECT_EQ(d["arch"], "mlp:8");
  EXPECT_EQ(d["class_names"].size(), 5u);
  EXPECT_EQ(d["input_shape"], nlohmann::json({1, 6, 6}));
  // Without a recorded normalisation (a checkpoint from before export existed) it refuses.
  LoadedModel old = m;
  old.meta.mean.clear();
  EXPECT_THROW(to_torchscript(old), ConfigError);
}

}  // namespace
}  // namespace kd
