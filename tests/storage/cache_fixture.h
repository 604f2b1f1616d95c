// The fixture the cache tests share.
#pragma once

#include <gtest/gtest.h>

#include "lib/data/augment.h"
#include "lib/data/datasets.h"
#include "lib/models/zoo.h"
#include "storage/cache_stage.h"
#include "tests/support/synthetic.h"
#include "tests/support/temp_dir.h"

namespace kd::testing {

// A synthetic MNIST-layout dataset and an untrained kdpipe teacher for it.
class CacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    write_synthetic_mnist(dir_ / "data", 300, 60);
    torch::manual_seed(1);
    for (const std::string spec : {"mlp:24", "cnn:4"}) {
      const Classifier model = make_model(spec, {1, 28, 28}, 10);
      save_model(model, model_meta(spec, dataset_info("mnist")),
                 dir_ / spec.substr(0, 3) / "model.pt");
    }
    data_ = load_dataset(data_options());
  }
  DataOptions data_options() const {
    return DataOptions("mnist").data_dir(dir_ / "data").val_size(50);
  }
  CacheOptions options(const std::string& teacher = "mlp") const {
    return CacheOptions()
        .data(data_options())
        .teacher(dir_ / teacher)
        .views(3)
        .temperatures({1, 2.5, 4})
        .chunk(64)
        .workers(2)
        .out(dir_ / "cache.h5");
  }
  static void quiet(const std::string&) {}

  // Logits of the model one example at a time, for view v of the training split.
  torch::Tensor one_at_a_time(const Classifier& model, int64_t view, const CacheOptions& o) {
    torch::NoGradGuard no_grad;
    model->eval();
    std::vector<torch::Tensor> rows;
    for (int64_t i = 0; i < data_.train.size(); ++i) {
      const torch::Tensor x = make_batch(data_.train, data_.info, torch::tensor({i}),
                                         view == 0 ? Augment::none : o.augment(), o.seed(),
                                         static_cast<uint64_t>(view));
      rows.push_back(model->forward(x)[0]);
    }
    return torch::stack(rows);
  }

  TempDir dir_;
  Dataset data_;
};

}  // namespace kd::testing
