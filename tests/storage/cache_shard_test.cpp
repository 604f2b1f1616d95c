// Sharded caches: n shards of whole chunks, merged, hold exactly what one unsharded run writes;
// a missing, doubled or foreign shard is refused by name, and a shard is never read as a whole.
#include <gtest/gtest.h>

#include "lib/core/error.h"
#include "storage/cache_merge.h"
#include "storage/logit_cache.h"
#include "tests/storage/cache_fixture.h"
#include "tests/support/errors.h"

namespace kd {
namespace {

namespace fs = std::filesystem;
using testing::CacheTest;

void expect_same_values(const LogitCache& a, const LogitCache& b) {
  ASSERT_EQ(a.header().n, b.header().n);
  EXPECT_TRUE(torch::equal(a.logits(), b.logits()));
  for (double t : a.header().temperatures) EXPECT_TRUE(torch::equal(a.probs(t), b.probs(t))) << t;
  EXPECT_TRUE(torch::equal(a.labels(), b.labels()));
}

class CacheShardTest : public CacheTest {
 protected:
  std::vector<fs::path> shards(int n, const CacheOptions& base) {
    std::vector<fs::path> out;
    for (int i = 0; i < n; ++i) {
      const fs::path file = dir_ / ("shard" + std::to_string(i) + ".h5");
      build_cache(CacheOptions(base).shard_index(i).shard_count(n).out(file), quiet);
      out.push_back(file);
    }
    return out;
  }
};

TEST_F(CacheShardTest, ThreeShardsMergedEqualTheUnshardedCacheExactly) {
  for (const bool half : {false, true}) {
    const CacheOptions o = options().half(half);
    build_cache(o, quiet);
    const std::vector<fs::path> parts = shards(3, o);  // 250 examples, 4 chunks of 64: 1, 1, 2
    const LogitCache middle(parts[1]);
    EXPECT_EQ(middle.header().shard_index, 1);
    EXPECT_EQ(middle.header().first_example, 64);
    EXPECT_EQ(middle.header().n, 64);
    EXPECT_EQ(LogitCache(parts[2]).header().n, 250 - 128);
    // Given in any order.
    const MergeSummary s = merge_cache_shards({parts[2], parts[0], parts[1]}, dir_ / "merged.h5");
    EXPECT_EQ(s.shards, 3);
    EXPECT_EQ(s.examples, 250);
    const LogitCache merged(dir_ / "merged.h5"), whole(dir_ / "cache.h5");
    expect_same_values(merged, whole);
    EXPECT_EQ(merged.header().differs_from(whole.header()), "");
    EXPECT_TRUE(merged.verify().empty());
    merged.expect_data("mnist", "train", data_.train.fingerprint(), data_.train.size());
    for (const fs::path& f : {dir_ / "cache.h5", dir_ / "merged.h5"}) fs::remove(f);
    for (const fs::path& f : parts) fs::remove(f);
  }
}

TEST_F(CacheShardTest, TopKShardsMergedEqualTheUnshardedTopKCache) {
  const CacheOptions o = options().top_k(3).top_k_rule(TopKRule::renormalise);
  build_cache(o, quiet);
  const std::vector<fs::path> parts = shards(2, o);
  merge_cache_shards(parts, dir_ / "merged.h5");
  const LogitCache merged(dir_ / "merged.h5"), whole(dir_ / "cache.h5");
  EXPECT_EQ(merged.header().differs_from(whole.header()), "");
  EXPECT_EQ(merged.header().top_k, 3);
  EXPECT_EQ(merged.header().top_k_rule, TopKRule::renormalise);
  const CacheChunk a = merged.read_rows(0, 250), b = whole.read_rows(0, 250);
  EXPECT_TRUE(a.classes.equal(b.classes));
  for (std::size_t i = 0; i < a.probs.size(); ++i) EXPECT_TRUE(a.probs[i].equal(b.probs[i])) << i;
  EXPECT_TRUE(a.labels.equal(b.labels));
  EXPECT_TRUE(merged.verify().empty());
  // A top-k shard and a full one are shards of different caches.
  build_cache(options().shard_index(1).shard_count(2).out(dir_ / "full1.h5"), quiet);
  const std::string msg = testing::error_of([&] {
    merge_cache_shards({parts[0], dir_ / "full1.h5"}, dir_ / "m2.h5");
  });
  EXPECT_NE(msg.find("not a shard of the same cache"), std::string::npos) << msg;
}

TEST_F(CacheShardTest, AMissingDoubledOrForeignShardIsRefusedByName) {
  const std::vector<fs::path> parts = shards(3, options());
  const fs::path out = dir_ / "merged.h5";
  std::string msg = testing::error_of([&] { merge_cache_shards({parts[0], parts[2]}, out); });
  EXPECT_NE(msg.find("shard 1/3 is missing"), std::string::npos) << msg;
  msg = testing::error_of([&] { merge_cache_shards({parts[0], parts[1], parts[1]}, out); });
  EXPECT_NE(msg.find("are both shard 1/3"), std::string::npos) << msg;
  // A shard of another teacher's cache.
  build_cache(options("cnn").shard_index(2).shard_count(3).out(dir_ / "cnn2.h5"), quiet);
  msg = testing::error_of([&] { merge_cache_shards({parts[0], parts[1], dir_ / "cnn2.h5"}, out); });
  EXPECT_NE(msg.find((dir_ / "cnn2.h5").string() + ": not a shard of the same cache as "),
            std::string::npos)
      << msg;
  // A shard of another split into 2.
  build_cache(options().shard_index(1).shard_count(2).out(dir_ / "half.h5"), quiet);
  msg = testing::error_of([&] { merge_cache_shards({parts[0], dir_ / "half.h5"}, out); });
  EXPECT_NE(msg.find("is shard 1/2"), std::string::npos) << msg;
  // A whole cache is no shard.
  build_cache(options(), quiet);
  msg = testing::error_of([&] { merge_cache_shards({dir_ / "cache.h5"}, out); });
  EXPECT_NE(msg.find("not a shard"), std::string::npos) << msg;
  EXPECT_FALSE(fs::exists(out));
  // A shard is not a whole cache to learn from.
  msg = testing::error_of([&] {
    LogitCache(parts[1]).expect_data("mnist", "train", data_.train.fingerprint(),
                                     data_.train.size());
  });
  EXPECT_NE(msg.find("shard 1/3 of a cache (examples 64 to 128), not a whole one"),
            std::string::npos)
      << msg;
  // More shards than chunks.
  msg = testing::error_of(
      [&] { build_cache(options().shard_index(0).shard_count(5).out(dir_ / "x.h5"), quiet); });
  EXPECT_NE(msg.find("has 4 chunks of 64 examples, fewer than the shards"), std::string::npos)
      << msg;
}

}  // namespace
}  // namespace kd
