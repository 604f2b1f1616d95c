#include "lib/train/trainer.h"

#include <gtest/gtest.h>

#include "lib/core/error.h"
#include "lib/losses/losses.h"
#include "lib/models/zoo.h"
#include "lib/train/evaluate.h"
#include "tests/support/synthetic.h"

namespace kd {
namespace {

DatasetInfo info28() {
  DatasetInfo info;
  info.name = "synthetic";
  info.channels = 1, info.height = 28, info.width = 28, info.classes = 10;
  info.mean = {0.2f}, info.std = {0.3f};
  return info;
}

const LossFn kCrossEntropy = [](const torch::Tensor& logits, const Batch& b) {
  return smoothed_cross_entropy(logits, b.labels, 0.0);
};

std::vector<torch::Tensor> train_once(const std::string& spec, uint64_t seed) {
  const ImageSet set = testing::make_synthetic(256, 10, 1, 28, 9);
  torch::manual_seed(seed);
  const Classifier model = make_model(spec, {1, 28, 28}, 10);
  Progress quiet = Progress::silent();
  train_model(
      model, set, info28(),
      TrainOptions().epochs(2).batch_size(32).lr(0.05).seed(seed).augment(Augment::shift_flip),
      kCrossEntropy, nullptr, quiet);
  std::vector<torch::Tensor> weights;
  for (const auto& p : model->parameters()) weights.push_back(p.detach().clone());
  return weights;
}

bool same(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!a[i].equal(b[i])) return false;
  }
  return true;
}

TEST(Trainer, SameSeedSameWeights) {
  for (const std::string spec : {"mlp:64", "cnn:4"}) {
    EXPECT_TRUE(same(train_once(spec, 3), train_once(spec, 3))) << spec;
    EXPECT_FALSE(same(train_once(spec, 3), train_once(spec, 4))) << spec;
  }
}

TEST(Trainer, LearnsASeparableTask) {
  const ImageSet train = testing::make_synthetic(600, 10, 1, 28, 1);
  const ImageSet test = testing::make_synthetic(200, 10, 1, 28, 2);
  torch::manual_seed(0);
  const Classifier model = make_model("mlp:64", {1, 28, 28}, 10);
  std::vector<double> losses;
  Progress quiet = Progress::silent();
  train_model(
      model, train, info28(), TrainOptions().epochs(4).batch_size(32).lr(0.05), kCrossEntropy,
      [&](const EpochStats& s) { losses.push_back(s.loss); }, quiet);
  ASSERT_EQ(losses.size(), 4u);
  EXPECT_LT(losses.back(), losses.front());
  const torch::Tensor logits = predict(model, test, info28(), PredictOptions()).logits;
  EXPECT_GT(logits.argmax(1).eq(test.labels).to(torch::kFloat64).mean().item<double>(), 0.9);
}

TEST(Trainer, ShufflesDeterministicallyPerEpoch) {
  const torch::Tensor a = epoch_order(100, 1, 0), b = epoch_order(100, 1, 0);
  EXPECT_TRUE(a.equal(b));
  EXPECT_FALSE(a.equal(epoch_order(100, 1, 1)));
  EXPECT_FALSE(a.equal(epoch_order(100, 2, 0)));
  EXPECT_TRUE(std::get<0>(a.sort()).equal(torch::arange(100, torch::kInt64)));
}

TEST(Trainer, StopsWithAnErrorWhenTheLossIsNotFinite) {
  const ImageSet set = testing::make_synthetic(64, 10, 1, 28, 1);
  const Classifier model = make_model("mlp:8", {1, 28, 28}, 10);
  Progress quiet = Progress::silent();
  const LossFn nan_loss = [](const torch::Tensor& logits, const Batch&) {
    return logits.sum() * std::numeric_limits<double>::quiet_NaN();
  };
  EXPECT_THROW(
      train_model(model, set, info28(), TrainOptions().epochs(1), nan_loss, nullptr, quiet),
      TrainingError);
}

TEST(Trainer, RefusesImpossibleOptions) {
  EXPECT_THROW(TrainOptions().epochs(0).validate(), ConfigError);
  EXPECT_THROW(TrainOptions().epochs(-3).validate(), ConfigError);
  EXPECT_THROW(TrainOptions().batch_size(0).validate(), ConfigError);
  EXPECT_THROW(TrainOptions().lr(-1).validate(), ConfigError);
  EXPECT_NO_THROW(TrainOptions().validate());
}

TEST(Schedule, ShapesOfEachSchedule) {
  EXPECT_DOUBLE_EQ(learning_rate(Schedule::constant, 0.1, 0.7), 0.1);
  EXPECT_DOUBLE_EQ(learning_rate(Schedule::cosine, 0.1, 0.0), 0.1);
  EXPECT_NEAR(learning_rate(Schedule::cosine, 0.1, 0.5), 0.05, 1e-12);
  EXPECT_NEAR(learning_rate(Schedule::cosine, 0.1, 1.0), 0.0, 1e-12);
  EXPECT_NEAR(learning_rate(Schedule::one_cycle, 0.1, 0.0), 0.004, 1e-12);
  EXPECT_NEAR(learning_rate(Schedule::one_cycle, 0.1, 0.3), 0.1, 1e-12);
  EXPECT_NEAR(learning_rate(Schedule::one_cycle, 0.1, 1.0), 1e-5, 1e-12);
  EXPECT_DOUBLE_EQ(learning_rate(Schedule::step, 0.1, 0.4), 0.1);
  EXPECT_NEAR(learning_rate(Schedule::step, 0.1, 0.6), 0.01, 1e-12);
  EXPECT_NEAR(learning_rate(Schedule::step, 0.1, 0.9), 0.001, 1e-12);
  EXPECT_EQ(parse_schedule("one-cycle"), Schedule::one_cycle);
  EXPECT_THROW(parse_schedule("linear"), ConfigError);
}

}  // namespace
}  // namespace kd
