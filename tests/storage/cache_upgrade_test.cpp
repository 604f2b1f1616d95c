// A cache of kdpipe before 0.3 (format 1: FNV-1a fingerprints, six-digit temperature names) is
// made format 2 by `kdpipe inspect --upgrade` once its data and teacher are verified with the
// old hash; anything else leaves it as it was.
#include "storage/cache_upgrade.h"

#include <gtest/gtest.h>

#include "lib/core/error.h"
#include "lib/core/files.h"
#include "lib/core/hash.h"
#include "storage/logit_cache.h"
#include "tests/storage/cache_fixture.h"
#include "tests/storage/h5_edit.h"
#include "tests/support/errors.h"
#include "tests/support/process.h"

namespace kd {
namespace {

namespace fs = std::filesystem;
using testing::error_of;

// FNV-1a's published 64-bit values for inputs shorter than a word; a longer one pins the
// word-wise folding of kdpipe 0.2.
TEST(LegacyHasher, IsTheHashOfKdpipeBefore03) {
  const auto fnv = [](const std::string& s) {
    return LegacyHasher().update(s.data(), s.size()).hex();
  };
  EXPECT_EQ(fnv("a"), "af63dc4c8601ec8c");
  EXPECT_EQ(fnv("foobar"), "85944171f73967e8");
  EXPECT_EQ(fnv("kdpipe 0.2"), "1dbeb04db861ff7a");
}

class CacheUpgradeTest : public testing::CacheTest {
 protected:
  // A cache as kdpipe 0.2 wrote it: a format-2 cache given the old fingerprints and names.
  fs::path old_cache() {
    build_cache(options().views(1).temperatures({1, 0.1234567}), quiet);
    const fs::path c = dir_ / "cache.h5";
    testing::set_h5_attribute(c, "format_version", "1");
    testing::set_h5_text_attribute(c, "dataset_fingerprint", data_.train.legacy_fingerprint());
    testing::set_h5_text_attribute(c, "teacher_checkpoint_hash",
                                   legacy_hash_file(dir_ / "mlp" / "model.pt"));
    testing::rename_h5_object(c, "/probs/T=0.1234567", "/probs/T=0.123457");
    return c;
  }
};

TEST_F(CacheUpgradeTest, AFormat1CacheBecomesFormat2WithItsLogitsUntouched) {
  const fs::path c = old_cache();
  EXPECT_THROW(LogitCache{c}, StorageError);
  build_cache(options().views(1).temperatures({1, 0.1234567}).out(dir_ / "fresh.h5"), quiet);

  const CacheUpgrade u = upgrade_cache(c, data_.train, dir_ / "mlp" / "model.pt");
  EXPECT_TRUE(u.upgraded);
  EXPECT_EQ(u.fingerprint_before, data_.train.legacy_fingerprint());
  EXPECT_EQ(u.fingerprint_after, data_.train.fingerprint());
  ASSERT_EQ(u.renamed.size(), 1u);
  EXPECT_EQ(u.renamed[0].first, "/probs/T=0.123457");
  EXPECT_EQ(u.renamed[0].second, "/probs/T=0.1234567");

  const LogitCache cache(c), fresh(dir_ / "fresh.h5");
  EXPECT_EQ(cache.header().format_version, 2);
  EXPECT_EQ(cache.header().dataset_fingerprint, fresh.header().dataset_fingerprint);
  EXPECT_EQ(cache.header().teacher_checkpoint_hash, hash_file(dir_ / "mlp" / "model.pt"));
  EXPECT_TRUE(torch::equal(cache.logits(), fresh.logits()));
  EXPECT_TRUE(torch::equal(cache.probs(0.1234567), fresh.probs(0.1234567)));
  EXPECT_TRUE(cache.verify().empty());
  cache.expect_data("mnist", "train", data_.train.fingerprint(), data_.train.size());
  EXPECT_FALSE(upgrade_cache(c, data_.train, dir_ / "mlp" / "model.pt").upgraded);  // once
}

TEST_F(CacheUpgradeTest, OtherDataOrAnotherTeacherLeaveTheCacheAsItWas) {
  const fs::path c = old_cache();
  const std::string before = read_text(c);
  const fs::path teacher = dir_ / "mlp" / "model.pt";
  EXPECT_NE(error_of([&] { upgrade_cache(c, data_.test, teacher); }).find("the data given has"),
            std::string::npos);
  ImageSet changed = data_.train;
  changed.images = changed.images.clone();
  changed.images.view(-1)[0] += 1;
  EXPECT_NE(error_of([&] {
              upgrade_cache(c, changed, teacher);
            }).find("made from other data than that given"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              upgrade_cache(c, data_.train, dir_ / "cnn" / "model.pt");
            }).find("made by another teacher than"),
            std::string::npos);
  EXPECT_EQ(read_text(c), before);
  EXPECT_FALSE(fs::exists(c.string() + ".tmp"));
}

// The README's way: the cache names its teacher; the data options are the cache's. Through a
// link, the cache it leads to is upgraded and the link stays.
TEST_F(CacheUpgradeTest, InspectUpgradesFromTheCommandLine) {
  const fs::path c = old_cache();
  fs::create_symlink(c, dir_ / "link.h5");
  const testing::ProcessResult r = testing::run_command(
      testing::kdpipe_binary().string() + " inspect " + (dir_ / "link.h5").string() +
      " --upgrade --dataset mnist --val-size 50 --data-dir " + (dir_ / "data").string());
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("upgraded to format 2 (data and teacher verified with the old hash)"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("renamed              /probs/T=0.123457 -> /probs/T=0.1234567"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("intact:"), std::string::npos) << r.output;
  EXPECT_TRUE(fs::is_symlink(dir_ / "link.h5"));
  EXPECT_EQ(LogitCache(c).header().format_version, 2);
}

}  // namespace
}  // namespace kd
