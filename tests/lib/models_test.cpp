#include <gtest/gtest.h>

#include "lib/core/error.h"
#include "lib/models/zoo.h"

namespace kd {
namespace {

struct Case {
  std::string spec;
  int64_t feature_width;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.spec; }

class ModelShapes : public ::testing::TestWithParam<Case> {};

TEST_P(ModelShapes, LogitsAndFeaturesForOneAndThreeChannels) {
  const Case c = GetParam();
  for (const InputShape& input : {InputShape{1, 28, 28}, InputShape{3, 32, 32}}) {
    torch::manual_seed(0);
    const Classifier model = make_model(c.spec, input, 10);
    model->eval();
    const torch::Tensor x = torch::randn({4, input.channels, input.height, input.width});
    const torch::Tensor logits = model->forward(x);
    EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{4, 10})) << c.spec;
    const torch::Tensor h = model->features(x);
    EXPECT_EQ(h.sizes(), (std::vector<int64_t>{4, c.feature_width})) << c.spec;
    // The head reads exactly the penultimate activations.
    EXPECT_TRUE(torch::allclose(model->head()->forward(h), logits)) << c.spec;
    EXPECT_EQ(model->head()->weight.sizes(), (std::vector<int64_t>{10, c.feature_width}));
  }
}

INSTANTIATE_TEST_SUITE_P(Zoo, ModelShapes,
                         ::testing::Values(Case{"mlp:1200-1200", 1200}, Case{"mlp:64", 64},
                                           Case{"mlp:30-20-10", 10}, Case{"cnn:8", 32},
                                           Case{"resnet:20", 64}, Case{"resnet:32", 64},
                                           Case{"resnet:56", 64}, Case{"alexnet", 192}),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           std::string name = info.param.spec;
                           for (char& ch : name) {
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           }
                           return name;
                         });

TEST(Zoo, ParameterCountsMatchThePapers) {
  // He et al.: ResNet-20 has 0.27M parameters and ResNet-56 0.85M on CIFAR-10.
  EXPECT_NEAR(parameter_count(*make_model("resnet:20", {3, 32, 32}, 10)), 0.27e6, 0.01e6);
  EXPECT_NEAR(parameter_count(*make_model("resnet:56", {3, 32, 32}, 10)), 0.85e6, 0.01e6);
  // 784-1200-1200-10: (784+1)*1200 + (1200+1)*1200 + (1200+1)*10.
  EXPECT_EQ(parameter_count(*make_model("mlp:1200-1200", {1, 28, 28}, 10)),
            785 * 1200 + 1201 * 1200 + 1201 * 10);
}

TEST(Zoo, RefusesBadSpecsNamingThem) {
  for (const std::string bad : {"vgg:16", "mlp", "mlp:", "mlp:12-", "mlp:12-x", "mlp:0", "cnn:8-8",
                                "resnet:21", "resnet:2", "alexnet:5", ""}) {
    try {
      make_model(bad, {1, 28, 28}, 10);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("'" + bad + "'"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace kd
