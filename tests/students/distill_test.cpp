#include "students/distill.h"

#include <gtest/gtest.h>

#include "lib/core/error.h"
#include "lib/core/files.h"
#include "lib/models/zoo.h"
#include "storage/cache_stage.h"
#include "storage/logit_cache.h"
#include "students/student_training.h"
#include "tests/support/synthetic.h"
#include "tests/support/temp_dir.h"

namespace kd {
namespace {

namespace fs = std::filesystem;

// Synthetic MNIST-layout data, a teacher checkpoint and its 3-view cache.
class DistillTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::write_synthetic_mnist(dir_ / "data", 300, 80);
    data_ = load_dataset(data_options());
    torch::manual_seed(3);
    teacher_ = make_model("mlp:32", {1, 28, 28}, 10);
    save_model(teacher_, model_meta("mlp:32", dataset_info("mnist")),
               dir_ / "teacher" / "model.pt");
    build_cache(CacheOptions()
                    .data(data_options())
                    .teacher(dir_ / "teacher")
                    .views(3)
                    .augment(Augment::shift_flip)
                    .seed(5)
                    .temperatures({1, 4})
                    .chunk(64)
                    .out(dir_ / "train.h5"),
                [](const std::string&) {});
  }
  DataOptions data_options() const {
    return DataOptions("mnist").data_dir(dir_ / "data").val_size(50);
  }
  // Distils with `o`, checks that the result returned is the one written, and returns what was
  // written (metrics.json, the result's serialisation).
  static nlohmann::json run(const DistillOptions& o) {
    Progress quiet = Progress::silent();
    const StageResult r = distill(o, quiet);
    const nlohmann::json m = nlohmann::json::parse(read_text(o.out() / "metrics.json"));
    EXPECT_EQ(m["kind"], r.kind);
    EXPECT_EQ(m["test"]["accuracy"].get<double>(), r.evaluation.test.accuracy);
    EXPECT_EQ(m["target_gamma"].get<double>(), r.target_gamma);
    EXPECT_EQ(m["epochs"].size(), r.epochs.size());
    return m;
  }

  DistillOptions options() const {
    return DistillOptions()
        .data(data_options())
        .cache(dir_ / "train.h5")
        .arch("mlp:16")
        .temperature(4)
        .alpha(0.7)
        .train(TrainOptions().epochs(4).batch_size(32).lr(0.05).seed(2))
        .out(dir_ / "student");
  }
  static std::vector<torch::Tensor> weights(const Classifier& m) {
    std::vector<torch::Tensor> w;
    for (const auto& p : m->parameters()) w.push_back(p.detach().clone());
    return w;
  }

  testing::TempDir dir_;
  Dataset data_;
  Classifier teacher_;
};

TEST_F(DistillTest, CachedLogitsTrainTheSameStudentAsTheLiveTeacherStepForStep) {
  const LogitCache cache(dir_ / "train.h5");
  const torch::Tensor cached = cache.logits();
  const ViewRecipe recipe{3, Augment::shift_flip, 5};
  const StudentObjective objective{Baseline::none, 0.0, 4.0, 0.7, 0.0};
  const TrainOptions train = TrainOptions().epochs(4).batch_size(32).lr(0.05).seed(2);
  const torch::Tensor ids = training_subset(data_.train.size(), 200);

  // The live teacher sees the very input the student gets: view (epoch mod V) of each example.
  teacher_->eval();
  const TeacherTargets live = [&](const torch::Tensor& rows, int64_t view) {
    torch::NoGradGuard no_grad;
    return torch::softmax(
        teacher_->forward(view_inputs(data_.train, data_.info, recipe, rows, view)) / 4.0, 1);
  };
  const SoftTargets targets = SoftTargets::of_logits(cached, 4.0);
  const TeacherTargets from_cache = [&](const torch::Tensor& rows, int64_t view) {
    return targets.rows(view, rows);
  };
  std::vector<std::vector<torch::Tensor>> after;
  std::vector<std::vector<double>> losses;
  for (const TeacherTargets& teacher : {live, from_cache}) {
    torch::manual_seed(9);
    const Classifier student = make_model("mlp:16", {1, 28, 28}, 10);
    Progress quiet = Progress::silent();
    losses.emplace_back();
    train_student(
        student, data_.train, data_.info, ids, recipe, objective, teacher, train,
        [&](const EpochStats& s) { losses.back().push_back(s.loss); }, quiet);
    after.push_back(weights(student));
  }
  ASSERT_EQ(losses[0].size(), 4u);
  for (std::size_t e = 0; e < losses[0].size(); ++e) {
    EXPECT_NEAR(losses[0][e], losses[1][e], 1e-5) << "epoch " << e + 1;
  }
  for (std::size_t i = 0; i < after[0].size(); ++i) {
    EXPECT_LE((after[0][i] - after[1][i]).abs().max().item<double>(), 1e-5) << "parameter " << i;
  }
}

TEST_F(DistillTest, LearnsFromTheCacheAloneWithTheTeacherDeleted) {
  fs::remove_all(dir_ / "teacher");
  const nlohmann::json m = run(options().train_subset(120));
  EXPECT_EQ(m["kind"], "student");
  EXPECT_EQ(m["options"]["train_subset"], 120);
  EXPECT_EQ(m["views"]["views"], 3);
  EXPECT_EQ(m["views"]["augment"], "shift-flip");
  EXPECT_EQ(m["teacher"]["arch"], "mlp:32");
  for (const char* f : {"model.pt", "metrics.json", "train.log"}) {
    EXPECT_TRUE(fs::exists(dir_ / "student" / f)) << f;
  }
  EXPECT_EQ(m["test"]["reliability"].size(), 15u);
  const double gamma = m["target_gamma"].get<double>();
  EXPECT_GT(gamma, 0.0);
  EXPECT_LT(gamma, 1.0);
}

TEST_F(DistillTest, TargetGammaIsTheSmoothnessOfTheMixedTargets) {
  const nlohmann::json m = run(options().alpha(1.0).temperature(2.0));
  const torch::Tensor z = LogitCache(dir_ / "train.h5").logits();
  double sum = 0;
  for (int64_t v = 0; v < 3; ++v) {
    const torch::Tensor p = torch::softmax(z[v].to(torch::kFloat64) / 2.0, 1);
    sum += ((1 - p.gather(1, data_.train.labels.unsqueeze(1))).mean() * 10.0 / 9.0).item<double>();
  }
  EXPECT_NEAR(m["target_gamma"].get<double>(), sum / 3, 1e-9);
}

// A top-k cache of every class holds the whole rows to float16 precision: its student trains as
// the float16 full cache's does. One of K = 3 trains on rows rebuilt from 3 values and records
// it; its temperatures are the only ones it can teach at.
TEST_F(DistillTest, TopKCachesTeachFromRebuiltRows) {
  const CacheOptions base = CacheOptions()
                                .data(data_options())
                                .teacher(dir_ / "teacher")
                                .views(3)
                                .seed(5)
                                .temperatures({1, 4})
                                .chunk(64);
  const auto quiet = [](const std::string&) {};
  build_cache(CacheOptions(base).half(true).out(dir_ / "half.h5"), quiet);
  build_cache(CacheOptions(base).top_k(10).out(dir_ / "top10.h5"), quiet);
  build_cache(CacheOptions(base).top_k(3).out(dir_ / "top3.h5"), quiet);
  const nlohmann::json half = run(options().cache(dir_ / "half.h5").out(dir_ / "s-half"));
  const nlohmann::json all = run(options().cache(dir_ / "top10.h5").out(dir_ / "s-top10"));
  ASSERT_EQ(half["epochs"].size(), all["epochs"].size());
  for (std::size_t e = 0; e < half["epochs"].size(); ++e) {
    const double a = half["epochs"][e]["loss"].get<double>(),
                 b = all["epochs"][e]["loss"].get<double>();
    EXPECT_NEAR(a, b, 2e-3 * a) << "epoch " << e + 1;
  }
  EXPECT_EQ(all["cache"]["top_k"], 10);
  EXPECT_NEAR(all["target_gamma"].get<double>(), half["target_gamma"].get<double>(), 1e-3);

  const nlohmann::json top3 = run(options().cache(dir_ / "top3.h5").alpha(1).out(dir_ / "s-top3"));
  EXPECT_EQ(top3["cache"]["top_k"], 3);
  EXPECT_EQ(top3["cache"]["top_k_rule"], "uniform");
  // γ of the rebuilt rows: the mass off the label, as the cache's values and rule give it.
  const LogitCache cache(dir_ / "top3.h5");
  const CacheChunk stored = cache.read_rows(0, cache.header().n);
  const torch::Tensor values = cache.probs(4);
  double sum = 0;
  for (int64_t v = 0; v < 3; ++v) {
    const torch::Tensor p =
        reconstruct_top_k(values[v], stored.classes[v], 10, TopKRule::uniform, torch::kFloat64);
    sum += ((1 - p.gather(1, data_.train.labels.unsqueeze(1))).mean() * 10.0 / 9.0).item<double>();
  }
  EXPECT_NEAR(top3["target_gamma"].get<double>(), sum / 3, 1e-6);
  Progress quiet_progress = Progress::silent();
  EXPECT_THROW(
      distill(options().cache(dir_ / "top3.h5").temperature(2).out(dir_ / "s-t2"), quiet_progress),
      ConfigError);
}

TEST_F(DistillTest, BaselinesTrainAloneAndRecordTheirGamma) {
  const nlohmann::json hard =
      run(options().cache("").baseline(Baseline::hard).views({3, Augment::shift, 1}));
  EXPECT_EQ(hard["kind"], "baseline");
  EXPECT_EQ(hard["target_gamma"], 0.0);
  EXPECT_EQ(hard["views"]["augment"], "shift");
  const nlohmann::json smooth =
      run(options().baseline(Baseline::smooth).smoothing(0.2).out(dir_ / "smooth"));
  EXPECT_DOUBLE_EQ(smooth["target_gamma"].get<double>(), 0.2);
  EXPECT_EQ(smooth["views"]["seed"], 5);  // a baseline given a cache sees the cache's views
}

// The validation split is evaluated every --val-every epochs and after the last, and nothing
// else changes: the weights and final metrics equal those of a student evaluated every epoch.
TEST_F(DistillTest, ValidationCadenceChangesNoResult) {
  const nlohmann::json every = run(options().val_every(1).out(dir_ / "every"));
  const nlohmann::json sparse = run(options().val_every(3).out(dir_ / "sparse"));
  const nlohmann::json last = run(options().val_every(0).out(dir_ / "last"));
  const auto evaluated = [](const nlohmann::json& m) {
    std::vector<int64_t> epochs;
    for (const auto& e : m["epochs"])
      if (e.contains("val_accuracy")) epochs.push_back(e["epoch"]);
    return epochs;
  };
  EXPECT_EQ(evaluated(every), (std::vector<int64_t>{1, 2, 3, 4}));
  EXPECT_EQ(evaluated(sparse), (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(evaluated(last), (std::vector<int64_t>{4}));
  EXPECT_EQ(sparse["epochs"][3]["val_accuracy"], every["epochs"][3]["val_accuracy"]);
  for (const char* split : {"test", "val"}) EXPECT_EQ(sparse[split], every[split]) << split;
  EXPECT_EQ(sparse["model"]["checkpoint_hash"], every["model"]["checkpoint_hash"]);
  EXPECT_EQ(last["model"]["checkpoint_hash"], every["model"]["checkpoint_hash"]);
  EXPECT_THROW(options().val_every(-1).validate(), ConfigError);
}

TEST_F(DistillTest, RefusesMissingCachesAndCachesOfOtherData) {
  EXPECT_THROW(run(options().cache("")), ConfigError);
  try {
    run(options().cache(dir_ / "absent.h5"));
    ADD_FAILURE() << "accepted a missing cache";
  } catch (const StorageError& e) {
    EXPECT_NE(std::string(e.what()).find("absent.h5"), std::string::npos) << e.what();
  }
  // The same cache against a validation split of another size: the training data differ.
  try {
    run(options().data(data_options().val_size(60)));
    ADD_FAILURE() << "accepted a cache of other data";
  } catch (const StorageError& e) {
    EXPECT_NE(std::string(e.what()).find("'N' is 250"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("240"), std::string::npos) << e.what();
  }
  // Other images of the same size: only the fingerprint tells.
  testing::write_synthetic_mnist(dir_ / "other", 300, 80, /*seed=*/77);
  try {
    run(options().data(DataOptions("mnist").data_dir(dir_ / "other").val_size(50)));
    ADD_FAILURE() << "accepted a cache of other data";
  } catch (const StorageError& e) {
    EXPECT_NE(std::string(e.what()).find("dataset_fingerprint"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(dir_ / "student" / "metrics.json"));
}

TEST(TrainingSubset, FixedSortedAndOfTheAskedSize) {
  const torch::Tensor a = training_subset(1000, 100);
  EXPECT_EQ(a.numel(), 100);
  EXPECT_TRUE(a.equal(training_subset(1000, 100)));
  EXPECT_TRUE(a.equal(std::get<0>(a.sort())));
  EXPECT_EQ(std::get<0>(torch::unique_consecutive(a)).numel(), 100);
  EXPECT_EQ(training_subset(1000, 0).numel(), 1000);
  EXPECT_GT(a.max().item<int64_t>(), 500);  // spread over the set, not its first rows
}

TEST(DistillOptionsTest, RefusesImpossibleValues) {
  const DistillOptions ok = DistillOptions().cache("x.h5").out("o");
  EXPECT_NO_THROW(ok.validate());
  EXPECT_THROW(DistillOptions(ok).temperature(0).validate(), ConfigError);
  EXPECT_THROW(DistillOptions(ok).alpha(1.5).validate(), ConfigError);
  EXPECT_THROW(DistillOptions(ok).baseline(Baseline::smooth).validate(), ConfigError);
  EXPECT_THROW(DistillOptions(ok).arch("rnn:3").validate(), ConfigError);
  EXPECT_THROW(DistillOptions(ok).out("").validate(), ConfigError);
  EXPECT_THROW(parse_baseline("soft"), ConfigError);
}

}  // namespace
}  // namespace kd
