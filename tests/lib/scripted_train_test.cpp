// Students and teachers of the user's own architecture: a model written in Python and scripted
// (tests/lib/scripted_models.py, run with Debian's python3-torch) is trained by kdpipe's trainer
// as a zoo model is. Its gradients are Python autograd's, a seed draws its weights as PyTorch
// would, and what kdpipe saves loads back in Python with nothing from kdpipe.
#include <gtest/gtest.h>
#include <torch/script.h>

#include <algorithm>
#include <fstream>
#include <map>

#include "lib/core/error.h"
#include "lib/data/datasets.h"
#include "lib/models/scripted_classifier.h"
#include "lib/models/zoo.h"
#include "lib/train/trainer.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace kd {
namespace {

namespace fs = std::filesystem;

class ScriptedTraining : public ::testing::Test {
 protected:
  void SetUp() override {
    const testing::ProcessResult r = python("save " + dir_.path().string());
    ASSERT_EQ(r.status, 0) << "needs Debian's python3-torch (bash .ci/setup installs it): "
                           << r.output;
  }
  static testing::ProcessResult python(const std::string& args) {
    return testing::run_command("/usr/bin/python3 " +
                                (testing::source_dir() / "tests/lib/scripted_models.py").string() +
                                " " + args);
  }
  // A batch Python reads with torch.load.
  fs::path batch(int64_t n, std::uint64_t seed) const {
    torch::manual_seed(static_cast<int64_t>(seed));
    c10::impl::GenericDict d(c10::StringType::get(), c10::AnyType::get());
    d.insert(std::string("x"), torch::randn({n, 1, 28, 28}));
    d.insert(std::string("y"), torch::randint(0, 10, {n}, torch::kInt64));
    d.insert(std::string("seed"), static_cast<int64_t>(seed));
    const std::vector<char> bytes = torch::pickle_save(c10::IValue(d));
    const fs::path path = dir_ / ("batch" + std::to_string(seed) + ".pt");
    std::ofstream(path, std::ios::binary)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return path;
  }
  static c10::Dict<c10::IValue, c10::IValue> read_dict(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), {});
    return torch::pickle_load(bytes).toGenericDict();
  }
  testing::TempDir dir_;
};

// (a) From the same weights, one training batch gives Python autograd's loss and gradients: every
// parameter of the module reaches kdpipe's trainer, and train mode is the module's own (BatchNorm
// on the batch's statistics, dropout on).
TEST_F(ScriptedTraining, OneBatchGivesPythonsLossAndGradients) {
  for (const char* file : {"cnn.pt", "mlp.pt"}) {
    const auto model = std::make_shared<ScriptedClassifierImpl>(dir_ / file);
    int64_t module_parameters = 0;
    for (const auto& p : torch::jit::load((dir_ / file).string()).parameters()) {
      module_parameters += p.numel();
    }
    EXPECT_EQ(parameter_count(*model), module_parameters) << file;
    const fs::path in = batch(16, 7);
    const auto b = read_dict(in);
    model->train();
    torch::manual_seed(7);  // dropout's mask: the same generator as Python's, seeded alike
    const torch::Tensor loss = torch::nn::functional::cross_entropy(
        model->forward(b.at("x").toTensor()), b.at("y").toTensor());
    loss.backward();

    const testing::ProcessResult r = python(std::string("grad ") + (dir_ / file).string() + " " +
                                            in.string() + " " + (dir_ / "grads.pt").string());
    ASSERT_EQ(r.status, 0) << r.output;
    const auto py = read_dict(dir_ / "grads.pt");
    EXPECT_NEAR(loss.item<double>(), py.at("loss").toTensor().item<double>(), 1e-5) << file;
    const auto grads = py.at("grads").toGenericDict();
    std::size_t compared = 0;
    for (const auto& item : grads) {
      std::string name = item.key().toStringRef();
      std::replace(name.begin(), name.end(), '.', '_');
      const torch::Tensor mine = model->named_parameters()[name].grad();
      ASSERT_TRUE(mine.defined()) << file << " " << name;
      EXPECT_LT((mine - item.value().toTensor()).abs().max().item<double>(), 1e-5)
          << file << " " << name;
      ++compared;
    }
    EXPECT_EQ(compared, model->parameters().size()) << file;
  }
}

// A step of kdpipe's optimiser changes what the module itself computes.
TEST_F(ScriptedTraining, TheTrainerUpdatesTheModulesOwnWeights) {
  const auto model = std::make_shared<ScriptedClassifierImpl>(dir_ / "mlp.pt");
  const torch::Tensor x = torch::randn({4, 1, 28, 28});
  model->eval();
  const torch::Tensor before = model->forward(x).detach().clone();
  torch::optim::SGD sgd(model->parameters(), torch::optim::SGDOptions(0.5));
  model->train();
  torch::nn::functional::cross_entropy(model->forward(x), torch::tensor({1, 2, 3, 4})).backward();
  sgd.step();
  model->eval();
  EXPECT_GT((model->forward(x) - before).abs().max().item<double>(), 1e-4);
}

// Parameters saved with requires_grad = False stay as they are through kdpipe's trainer (weight
// decay included): fine-tuning a head on a frozen body.
TEST_F(ScriptedTraining, ParametersSavedFrozenStayFrozen) {
  const Classifier model =
      make_model("torchscript:" + (dir_ / "frozen.pt").string(), {1, 28, 28}, 10, ModelInit::file);
  std::map<std::string, torch::Tensor> before;
  for (const auto& p : model->named_parameters()) before[p.key()] = p.value().detach().clone();
  torch::manual_seed(1);
  const ImageSet set{torch::randint(0, 256, {32, 1, 28, 28}).to(torch::kUInt8),
                     torch::randint(0, 10, {32})};
  DatasetInfo info;
  info.channels = 1, info.height = 28, info.width = 28, info.classes = 10;
  info.mean = {0.5f}, info.std = {0.25f};
  Progress progress = Progress::silent();
  train_model(
      model, set, info, TrainOptions().epochs(2).batch_size(8).lr(0.1),
      [](const torch::Tensor& logits, const Batch& b) {
        return torch::nn::functional::cross_entropy(logits, b.labels);
      },
      [](const EpochStats&) {}, progress);
  for (const auto& p : model->named_parameters()) {
    const bool frozen = p.key().rfind("fc1_", 0) == 0;
    EXPECT_EQ(torch::equal(p.value(), before[p.key()]), frozen) << p.key();
    EXPECT_EQ(p.value().requires_grad(), !frozen) << p.key();
  }
}

// A seed draws the weights of the layers PyTorch initialises, as PyTorch draws them; BatchNorm's
// statistics start afresh.
TEST_F(ScriptedTraining, SeedsDrawTheWeightsAndTheSameSeedTheSameWeights) {
  const std::string spec = "torchscript:" + (dir_ / "cnn.pt").string();
  const auto weights = [&](int64_t seed) {
    torch::manual_seed(seed);
    const Classifier m = make_model(spec, {1, 28, 28}, 10);
    std::vector<torch::Tensor> w;
    for (const auto& p : m->named_parameters()) w.push_back(p.value().detach().clone());
    for (const auto& b : m->named_buffers()) {
      if (b.key().find("running_var") != std::string::npos) {
        EXPECT_TRUE(torch::all(b.value() == 1).item<bool>()) << b.key();
      }
    }
    return w;
  };
  const auto a = weights(1), again = weights(1), other = weights(2);
  ASSERT_EQ(a.size(), other.size());
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], again[i])) << i;
  bool differ = false;
  for (std::size_t i = 0; i < a.size(); ++i) differ = differ || !torch::equal(a[i], other[i]);
  EXPECT_TRUE(differ);
  // Linear and Conv weights within PyTorch's bounds: |w| <= 1/sqrt(fan_in).
  torch::manual_seed(3);
  const Classifier m = make_model(spec, {1, 28, 28}, 10);
  const torch::Tensor head = m->named_parameters()["head_weight"];
  EXPECT_LE(head.abs().max().item<double>(), 1 / std::sqrt(8.0) + 1e-6);
  EXPECT_TRUE(initialisation_note(m).empty());
}

// (c) What kdpipe saves is TorchScript with its meta beside it: Python loads it with nothing from
// kdpipe and computes kdpipe's logits; kdpipe loads it back as a model.
TEST_F(ScriptedTraining, TheSavedModelLoadsInPythonAndInKdpipe) {
  torch::manual_seed(4);
  const Classifier model = make_model("torchscript:" + (dir_ / "cnn.pt").string(), {1, 28, 28}, 10);
  ModelMeta meta = model_meta("torchscript:cnn.pt", dataset_info("mnist"));
  save_model(model, meta, dir_ / "model.pt");
  const fs::path in = batch(5, 9);
  model->eval();
  const torch::Tensor mine = model->forward(read_dict(in).at("x").toTensor()).detach();
  const testing::ProcessResult r = python("logits " + (dir_ / "model.pt").string() + " " +
                                          in.string() + " " + (dir_ / "logits.pt").string());
  ASSERT_EQ(r.status, 0) << r.output;
  const auto py = read_dict(dir_ / "logits.pt");
  EXPECT_LT((py.at("logits").toTensor() - mine).abs().max().item<double>(), 1e-5);
  EXPECT_NE(py.at("meta").toStringRef().find("\"spec\":\"torchscript:cnn.pt\""), std::string::npos)
      << py.at("meta").toStringRef();

  const LoadedModel back = load_model(dir_ / "model.pt");
  EXPECT_EQ(back.meta.spec, "torchscript:cnn.pt");
  EXPECT_EQ(back.meta.classes, 10);
  back.model->eval();
  EXPECT_LT(
      (back.model->forward(read_dict(in).at("x").toTensor()) - mine).abs().max().item<double>(),
      1e-6);
}

// Files that are no model kdpipe can train are named, each in one line.
TEST_F(ScriptedTraining, FilesThatCannotBeTrainedAreRefusedNamingTheFile) {
  std::ofstream(dir_ / "junk.pt") << "not a model";
  const auto refusal = [&](const std::string& spec) {
    try {
      make_model(spec, {1, 28, 28}, 10);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_NE(refusal("torchscript:" + (dir_ / "junk.pt").string()).find("junk.pt"),
            std::string::npos);
  EXPECT_NE(refusal("torchscript:" + (dir_ / "absent.pt").string()).find("no such file"),
            std::string::npos);
  EXPECT_NE(refusal("torchscript:" + (dir_ / "mlp.pt").string() + "x").find("no such file"),
            std::string::npos);
  const std::string wrong_classes = [&] {
    try {
      make_model("torchscript:" + (dir_ / "mlp.pt").string(), {1, 28, 28}, 7);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  }();
  EXPECT_NE(wrong_classes.find("expected [2, 7]"), std::string::npos) << wrong_classes;
  EXPECT_THROW(parse_model_spec("torchscript:"), ConfigError);
  const std::string ts = "torchscript:" + dir_.path().string() + "/";
  EXPECT_NE(refusal(ts + "noparams.pt").find("noparams.pt': the module has no parameters to train"),
            std::string::npos);
  EXPECT_NE(refusal(ts + "tuple.pt").find("tuple.pt"), std::string::npos);
  EXPECT_NE(refusal(ts + "tuple.pt").find("forward must return a tensor"), std::string::npos);
  EXPECT_NE(refusal(ts + "flat.pt").find("flat.pt"), std::string::npos);
  EXPECT_NE(refusal(ts + "flat.pt").find("forward failed on a batch of 2"), std::string::npos)
      << refusal(ts + "flat.pt");
  // Saved by a newer PyTorch: the operator this LibTorch lacks is named, in one line.
  const std::string newer = refusal(ts + "newer.pt");
  EXPECT_NE(newer.find("newer.pt': the model uses the operator "
                       "aten::kdpipe_operator_from_the_future, which LibTorch"),
            std::string::npos)
      << newer;
  EXPECT_EQ(newer.find('\n'), std::string::npos) << newer;
  EXPECT_NE(refusal(ts + "allfrozen.pt").find("every parameter was saved frozen"),
            std::string::npos);
  EXPECT_NE(
      refusal(ts + "intlogits.pt").find("forward must return floating-point logits, not Long"),
      std::string::npos)
      << refusal(ts + "intlogits.pt");
  EXPECT_NE(refusal(ts + "..").find("a directory, not a TorchScript file"), std::string::npos);
}

// The zoo's convention, features(x) and a Linear named head, shows kdpipe the penultimate layer
// (the report's projection figure); a module without it, or whose forward is not
// head(features(x)), keeps its logits and says why it has no projection.
TEST_F(ScriptedTraining, FeaturesAndHeadShowThePenultimateLayer) {
  torch::manual_seed(3);
  const Classifier cnn = make_model("torchscript:" + (dir_ / "cnn.pt").string(), {1, 28, 28}, 10);
  EXPECT_EQ(penultimate_note(cnn), "");
  cnn->eval();
  const torch::Tensor x = read_dict(batch(4, 2)).at("x").toTensor();
  const torch::Tensor h = cnn->features(x);
  EXPECT_EQ(h.sizes(), (std::vector<int64_t>{4, 8}));
  EXPECT_TRUE(torch::allclose(cnn->head()->forward(h), cnn->forward(x), 1e-5, 1e-6));
  // head() is the module's own layer: what a seed drew and what training changes.
  EXPECT_EQ(cnn->head()->weight.data_ptr(), cnn->named_parameters()["head_weight"].data_ptr());

  const Classifier mlp = make_model("torchscript:" + (dir_ / "mlp.pt").string(), {1, 28, 28}, 10);
  EXPECT_NE(penultimate_note(mlp).find("mlp.pt': no penultimate layer to project (the module "
                                       "has no method features(x))"),
            std::string::npos)
      << penultimate_note(mlp);
  EXPECT_THROW(mlp->features(x), ConfigError);
  const Classifier scaled =
      make_model("torchscript:" + (dir_ / "scaled.pt").string(), {1, 28, 28}, 10);
  EXPECT_NE(penultimate_note(scaled).find("forward(x) is not head(features(x))"), std::string::npos)
      << penultimate_note(scaled);
}

// --init file keeps every value the file holds: fine-tuning a pretrained model.
TEST_F(ScriptedTraining, InitFileKeepsTheFilesWeights) {
  const fs::path file = dir_ / "cnn.pt";
  torch::manual_seed(1);
  const Classifier kept =
      make_model("torchscript:" + file.string(), {1, 28, 28}, 10, ModelInit::file);
  const torch::jit::Module original = torch::jit::load(file.string());
  for (const auto& p : original.named_parameters()) {
    std::string name = p.name;
    std::replace(name.begin(), name.end(), '.', '_');
    EXPECT_TRUE(torch::equal(kept->named_parameters()[name], p.value)) << p.name;
  }
  EXPECT_THROW(make_model("mlp:8", {1, 28, 28}, 10, ModelInit::file), ConfigError);
}

}  // namespace
}  // namespace kd
