// Top-k caches: rows rebuilt by their rule, the loss on them equal to a dense computation, their
// size on disk, and damaged rows refused in one line naming the dataset.
#include "storage/top_k.h"

#include <gtest/gtest.h>

#include <chrono>

#include "lib/core/error.h"
#include "lib/losses/losses.h"
#include "storage/logit_cache.h"
#include "tests/storage/h5_edit.h"
#include "tests/support/errors.h"
#include "tests/support/temp_dir.h"

namespace kd {
namespace {

namespace fs = std::filesystem;

TEST(TopK, RowsAreRebuiltByEitherRule) {
  const torch::Tensor values = torch::tensor({0.5, 0.3}, torch::kFloat64);
  const torch::Tensor classes = torch::tensor({2, 0}, torch::kInt64);
  const torch::Tensor uniform =
      reconstruct_top_k(values, classes, 5, TopKRule::uniform, torch::kFloat64);
  const double rest = 0.2 / 3;
  EXPECT_TRUE(torch::allclose(uniform, torch::tensor({0.3, rest, 0.5, rest, rest}, torch::kFloat64),
                              0, 1e-15))
      << uniform;
  const torch::Tensor renormalised =
      reconstruct_top_k(values, classes, 5, TopKRule::renormalise, torch::kFloat64);
  EXPECT_TRUE(torch::allclose(
      renormalised, torch::tensor({0.375, 0.0, 0.625, 0.0, 0.0}, torch::kFloat64), 0, 1e-15))
      << renormalised;
  // float16 rounding may leave the K values summing a little above 1: nothing goes negative.
  const torch::Tensor over =
      reconstruct_top_k(torch::tensor({0.7, 0.3008}), classes, 5, TopKRule::uniform);
  EXPECT_GE(over.min().item<double>(), 0.0);
}

// A synthetic cache of `c` classes written through the writer: logits of 3·N(0, 1), `views` views.
struct Synthetic {
  torch::Tensor logits;
  fs::path path;
};

Synthetic write_cache(const fs::path& path, int64_t c, int64_t n, int64_t views, int64_t k,
                      std::vector<double> temperatures, TopKRule rule = TopKRule::uniform,
                      int64_t chunk = 1024) {
  CacheHeader h;
  h.teacher_source = "test";
  h.dataset = "synthetic";
  h.split = "train";
  h.n = n, h.c = c, h.v = views;
  for (int64_t i = 0; i < c; ++i) h.class_names.push_back("class " + std::to_string(i));
  h.temperatures = std::move(temperatures);
  h.dtype = k > 0 ? "float16" : "float32";
  h.chunk = chunk;
  h.top_k = k;
  h.top_k_rule = rule;
  torch::manual_seed(3);
  const torch::Tensor z = 3 * torch::randn({views, n, c});
  const torch::Tensor labels = torch::randint(c, {n}, torch::kInt64);
  LogitCacheWriter writer(path, h);
  for (int64_t chunk = 0; chunk < writer.chunk_count(); ++chunk) {
    const int64_t begin = chunk * h.chunk, end = std::min(n, begin + h.chunk);
    writer.write_chunk(chunk, z.slice(1, begin, end), labels.slice(0, begin, end));
  }
  writer.finish();
  return {z, path};
}

TEST(TopKCache, KeepsTheLargestProbabilitiesAndTheirClasses) {
  const testing::TempDir dir;
  const Synthetic s = write_cache(dir / "top3.h5", 100, 300, 2, 3, {1, 4});
  const LogitCache cache(s.path);
  EXPECT_EQ(cache.header().format_version, kTopKFormatVersion);
  EXPECT_EQ(cache.header().top_k, 3);
  const CacheChunk stored = cache.read_rows(0, 300);
  const torch::Tensor top = std::get<1>(s.logits.topk(3, 2));
  EXPECT_TRUE(stored.classes.to(torch::kInt64).equal(top));
  for (std::size_t i = 0; i < 2; ++i) {
    const double t = cache.header().temperatures[i];
    const torch::Tensor want = torch::softmax(s.logits / t, 2).gather(2, top);
    // float16: 11 significant bits.
    EXPECT_LE((cache.probs(t) - want).abs().max().item<double>(), 1e-3 * 0.5) << t;
  }
  EXPECT_TRUE(cache.verify().empty());
  const std::string msg = testing::error_of([&] { cache.logits(); });
  EXPECT_NE(msg.find("a top-k cache (K = 3) holds no logits"), std::string::npos) << msg;
  const std::string other = testing::error_of([&] { cache.targets(2); });
  EXPECT_NE(other.find("--temperature 2: " + s.path.string() +
                       " is a top-k cache, which holds its temperatures only (1, 4)"),
            std::string::npos)
      << other;
}

// Σ p (log p − log q) over classes, the batch mean, in float64 from the stored rows.
double dense_loss(const torch::Tensor& values, const torch::Tensor& classes, int64_t c,
                  const torch::Tensor& student, const torch::Tensor& labels, double t, double alpha,
                  TopKRule rule) {
  const torch::Tensor v = values.to(torch::kFloat64);
  const int64_t k = v.size(1);
  torch::Tensor p = torch::zeros({v.size(0), c}, torch::kFloat64);
  for (int64_t i = 0; i < v.size(0); ++i) {
    const double sum = v[i].sum().item<double>();
    const double rest = rule == TopKRule::uniform ? std::max(0.0, 1 - sum) / double(c - k) : 0.0;
    p[i].fill_(rest);
    for (int64_t j = 0; j < k; ++j) {
      const double value = v[i][j].item<double>();
      p[i][classes[i][j].item<int64_t>()] = rule == TopKRule::uniform ? value : value / sum;
    }
  }
  const torch::Tensor s = student.to(torch::kFloat64);
  const torch::Tensor log_q = torch::log_softmax(s / t, 1);
  const double kl = (torch::xlogy(p, p) - p * log_q).sum(1).mean().item<double>();
  const double ce = torch::nll_loss(torch::log_softmax(s, 1), labels).item<double>();
  return alpha * t * t * kl + (1 - alpha) * ce;
}

TEST(TopKCache, TheLossOnRebuiltRowsIsTheDenseComputationOnA100ClassCache) {
  const testing::TempDir dir;
  for (const TopKRule rule : {TopKRule::uniform, TopKRule::renormalise}) {
    const Synthetic s =
        write_cache(dir / ("c" + to_string(rule) + ".h5"), 100, 500, 2, 5, {1, 4}, rule);
    const LogitCache cache(s.path);
    const CacheChunk stored = cache.read_rows(0, 500);
    const double t = 4, alpha = 0.7;
    const SoftTargets targets = cache.targets(t);
    torch::manual_seed(5);
    const torch::Tensor rows = torch::randperm(500).slice(0, 0, 128);
    const torch::Tensor student = 2 * torch::randn({128, 100});
    const torch::Tensor labels = torch::randint(100, {128}, torch::kInt64);
    for (int64_t view = 0; view < 2; ++view) {
      const torch::Tensor rebuilt = targets.rows(view, rows);
      EXPECT_NEAR(rebuilt.sum(1).max().item<double>(), 1.0,
                  rule == TopKRule::uniform ? 3e-3 : 1e-6);
      const double ours =
          distillation_loss_to_targets(student, rebuilt, labels, t, alpha).item<double>();
      const double dense = dense_loss(cache.probs(t)[view].index_select(0, rows),
                                      stored.classes[view].index_select(0, rows).to(torch::kInt64),
                                      100, student, labels, t, alpha, rule);
      EXPECT_NEAR(ours, dense, 1e-6 * std::max(1.0, std::abs(dense)))
          << to_string(rule) << " view " << view;
    }
  }
}

// A cache read a chunk at a time as a student asks for rows gives the held targets bit for bit,
// whatever rows are asked for and however few chunks are kept.
TEST(CacheTargets, ReadAsAskedForTheyAreTheHeldTargetsBitForBit) {
  const testing::TempDir dir;
  for (const int64_t k : {0, 3}) {
    // 88 chunks of 8 examples: more than the 32 kept, so chunks are dropped and read again.
    const Synthetic s = write_cache(dir / ("k" + std::to_string(k) + ".h5"), 20, 700, 3, k, {2, 4},
                                    TopKRule::uniform, 8);
    const LogitCache cache(s.path);
    const SoftTargets held = cache.targets(4), streamed = cache.streamed_targets(4, 0);
    EXPECT_EQ(streamed.views(), 3);
    torch::manual_seed(7);
    for (int batch = 0; batch < 30; ++batch) {
      const torch::Tensor rows = torch::randint(700, {64}, torch::kInt64);  // repeats too
      const int64_t view = batch % 3;
      for (const auto type : {torch::kFloat32, torch::kFloat64})
        ASSERT_TRUE(torch::equal(streamed.rows(view, rows, type), held.rows(view, rows, type)))
            << "K = " << k << ", batch " << batch;
    }
    if (k > 0) {  // not a temperature held
      EXPECT_THROW(cache.streamed_targets(3, 0), ConfigError);
    }
    // A cache rewritten after its damage was checked is not read on: 88 chunks, 32 kept.
    std::filesystem::last_write_time(
        s.path, std::filesystem::last_write_time(s.path) + std::chrono::seconds(10));
    EXPECT_THROW(streamed.rows(0, torch::arange(700), torch::kFloat32), StorageError);
  }
}

// Past 32767 classes the classes are int32; the class names of 40,000 classes (640 KiB of string
// references, past HDF5's 64 KiB object header) are stored all the same.
TEST(TopKCache, FortyThousandClassesAreStoredAsInt32) {
  const testing::TempDir dir;
  const Synthetic s = write_cache(dir / "wide.h5", 40000, 6, 1, 3, {1});
  const LogitCache cache(s.path);
  EXPECT_EQ(cache.header().class_names.size(), 40000U);
  const CacheChunk stored = cache.read_rows(0, 6);
  EXPECT_EQ(stored.classes.scalar_type(), torch::kInt32);
  EXPECT_TRUE(stored.classes.to(torch::kInt64).equal(std::get<1>(s.logits.topk(3, 2))));
  EXPECT_TRUE(cache.verify().empty());
  EXPECT_NEAR(static_cast<double>(cache.soft_label_bytes()) / 6, 4 * 3 + 2 * 3, 2);  // + checksums
}

TEST(TopKCache, BytesPerExampleAndViewAreTwoKPlusTwoKPerTemperature) {
  const testing::TempDir dir;
  const int64_t n = 4096, views = 2;
  const std::vector<double> temperatures{1, 4};
  const Synthetic full = write_cache(dir / "full.h5", 100, n, views, 0, temperatures);
  const double full_bytes = static_cast<double>(LogitCache(full.path).soft_label_bytes()) /
                            static_cast<double>(n * views);
  EXPECT_NEAR(full_bytes, 4.0 * 100 * 3, 0.03 * 4 * 100 * 3);
  RecordProperty("full_bytes_per_example_view", std::to_string(full_bytes));
  for (const int64_t k : {1, 3, 5}) {
    const Synthetic s =
        write_cache(dir / ("k" + std::to_string(k) + ".h5"), 100, n, views, k, temperatures);
    const double bytes =
        static_cast<double>(LogitCache(s.path).soft_label_bytes()) / static_cast<double>(n * views);
    const double want = 2.0 * k + 2.0 * k * static_cast<double>(temperatures.size());
    EXPECT_GE(bytes, want) << "K = " << k;
    EXPECT_LE(bytes, 1.03 * want) << "K = " << k;
    RecordProperty("top" + std::to_string(k) + "_bytes_per_example_view", std::to_string(bytes));
  }
}

TEST(TopKCache, DamagedRowsAreRefusedInOneLineNamingTheDataset) {
  const testing::TempDir dir;
  const Synthetic good = write_cache(dir / "good.h5", 10, 50, 2, 3, {2});
  const std::string indices = CacheHeader::kTopKIndicesPath, values = "/probs/T=2";
  struct Damage {
    std::string dataset;
    std::vector<double> row;
    std::string says;
  };
  for (const Damage& d : std::vector<Damage>{
           {indices, {12, 0, 1}, "class 12 outside [0, 10) at view 1, example 7"},
           {indices, {-1, 0, 1}, "class -1 outside [0, 10) at view 1, example 7"},
           {indices, {2, 5, 2}, "a class repeated at view 1, example 7"},
           {values, {0.1, 0.5, 0.2}, "values increasing along the row"},
           {values, {0.6, 0.3, 0.2}, "values summing to 1.1"},
           {values, {0.5, 0.3, -0.1}, "negative, NaN or infinite at view 1, example 7"},
           // Nothing kept (0/0 to renormalise), or kept values too small for what is left out.
           {values, {0, 0, 0}, "leaving more mass out than the 7 other classes can hold"},
           {values, {0.1, 0.05, 0.01}, "values summing to 0.15996"}}) {
    const fs::path file = dir / "damaged.h5";
    fs::copy_file(good.path, file, fs::copy_options::overwrite_existing);
    testing::set_row(file, d.dataset, 1, 7, d.row);
    const LogitCache cache(file);
    const std::string msg = testing::error_of([&] { cache.targets(2); });
    EXPECT_EQ(msg.find(file.string() + ": " + d.dataset + ": "), 0U) << msg;
    // Read in step with the data, the same damage is refused before any row is asked for.
    EXPECT_EQ(testing::error_of([&] { cache.streamed_targets(2, 0); }), msg);
    EXPECT_NE(msg.find(d.says), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    const std::vector<std::string> problems = cache.verify();
    ASSERT_EQ(problems.size(), 1U) << d.says;
    EXPECT_NE(problems[0].find(d.says), std::string::npos) << problems[0];
  }
  // Classes stored in another integer type than C asks for (int16 here).
  {
    const fs::path file = dir / "int32.h5";
    fs::copy_file(good.path, file, fs::copy_options::overwrite_existing);
    testing::store_as_int32(file, indices);
    const std::string msg = testing::error_of([&] { LogitCache(file).targets(2); });
    EXPECT_NE(msg.find("is stored as integers of 4 bytes; class indices of C = 10 classes are "
                       "int16"),
              std::string::npos)
        << msg;
  }
  // Every class present (K = C): nothing is left out, so the values must sum to 1.
  const Synthetic all = write_cache(dir / "all.h5", 4, 20, 1, 4, {2});
  testing::set_row(all.path, values, 0, 3, {0.3, 0.1, 0.05, 0.05});
  const std::string msg = testing::error_of([&] { LogitCache(all.path).targets(2); });
  EXPECT_NE(msg.find("leaving more mass out than the 0 other classes can hold"), std::string::npos)
      << msg;
  // float16 rounding of the K values is no damage: a sum up to 1 + K·2^-10 is allowed.
  const fs::path file = dir / "rounded.h5";
  fs::copy_file(good.path, file, fs::copy_options::overwrite_existing);
  testing::set_row(file, values, 0, 0, {0.5, 0.3, 0.2 + 2.0 / 1024});
  EXPECT_TRUE(LogitCache(file).verify().empty());
}

}  // namespace
}  // namespace kd
