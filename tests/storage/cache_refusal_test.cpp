// What the third probe found in caches: temperatures that give no distribution or collide,
// unfinished files left by a doomed run, a cache larger than its disk, a damaged .partial, an
// attribute that disagrees with the data, and a verification that took memory by the file's word.
#include <gtest/gtest.h>
#include <sys/mount.h>

#include <fstream>

#include "lib/core/error.h"
#include "lib/core/files.h"
#include "storage/logit_cache.h"
#include "tests/storage/cache_fixture.h"
#include "tests/storage/h5_edit.h"
#include "tests/support/errors.h"
#include "tests/support/limits.h"
#include "tests/support/process.h"

namespace kd {
namespace {

namespace fs = std::filesystem;
using testing::CacheTest;
using testing::error_of;

void expect_nothing_left(const fs::path& cache) {
  EXPECT_FALSE(fs::exists(cache));
  EXPECT_FALSE(fs::exists(LogitCacheWriter::partial_path(cache)));
  EXPECT_FALSE(fs::exists(cache.string() + ".lock"));
}

TEST_F(CacheTest, ANonFiniteTeacherLeavesNoPartialFileOrLock) {
  testing::save_nan_teacher(dir_ / "nan.pt");
  const std::string msg =
      error_of([&] { build_cache(options().teacher("").torchscript(dir_ / "nan.pt"), quiet); });
  EXPECT_NE(msg.find("non-finite logits"), std::string::npos) << msg;
  expect_nothing_left(dir_ / "cache.h5");
}

TEST_F(CacheTest, ATemperatureThatGivesNoDistributionIsRefused) {
  const std::string msg = error_of([&] { build_cache(options().temperatures({1, 1e-45}), quiet); });
  EXPECT_NE(msg.find("--temperatures: expected a temperature of at least 1e-06 (softmax(z/T) "
                     "overflows below it), got 1e-45"),
            std::string::npos)
      << msg;
  expect_nothing_left(dir_ / "cache.h5");
}

TEST_F(CacheTest, TemperaturesThatDifferInTheSeventhDigitAreTwoDatasets) {
  build_cache(options().views(1).temperatures({2.0000001, 2.0000002}), quiet);
  const LogitCache cache(dir_ / "cache.h5");
  EXPECT_EQ(CacheHeader::probs_path(2.0000001), "/probs/T=2.0000001");
  EXPECT_EQ(CacheHeader::probs_path(4), "/probs/T=4");  // earlier caches' names are kept
  EXPECT_FALSE(torch::equal(cache.probs(2.0000001), cache.probs(2.0000002)));
  EXPECT_TRUE(cache.verify().empty());
}

// The disk is a tmpfs of 1 MB mounted here: the cache would need 20 MB.
TEST_F(CacheTest, ACacheLargerThanItsDiskIsRefusedBeforeWriting) {
  const fs::path disk = dir_ / "disk";
  fs::create_directories(disk);
  if (::mount("tmpfs", disk.c_str(), "tmpfs", 0, "size=1m") != 0)
    GTEST_SKIP() << "cannot mount a tmpfs here (not root)";
  const std::string msg =
      error_of([&] { build_cache(options().views(500).out(disk / "cache.h5"), quiet); });
  ::umount(disk.c_str());
  EXPECT_NE(msg.find("the cache needs 0.02 GB (500 views x 250 examples x 10 classes x 4 "
                     "datasets)"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("use fewer --views or temperatures"), std::string::npos) << msg;
}

// A .partial on which libhdf5 crashes (a fuzzing find) is started over, not fatal to the writer.
TEST_F(CacheTest, ADamagedPartialFileIsStartedOverInsideTheGuard) {
  fs::copy_file(testing::source_dir() / "tests/fuzz/corpus/cache_fuzz/crash-libhdf5-1",
                LogitCacheWriter::partial_path(dir_ / "cache.h5"));
  std::vector<std::string> said;
  build_cache(options().views(1), [&](const std::string& line) { said.push_back(line); });
  ASSERT_FALSE(said.empty());
  EXPECT_NE(said.front().find("starting over: the unfinished file could not be resumed"),
            std::string::npos)
      << said.front();
  EXPECT_TRUE(LogitCache(dir_ / "cache.h5").verify().empty());
  EXPECT_FALSE(fs::exists(dir_ / "cache.h5.lock"));
}

TEST_F(CacheTest, AnAttributeThatDisagreesWithTheDataIsDamageNotAnUnfinishedFile) {
  build_cache(options().views(1), quiet);
  testing::set_h5_attribute(dir_ / "cache.h5", "N", "1000000000000");
  const std::string msg = error_of([&] { LogitCache cache(dir_ / "cache.h5"); });
  EXPECT_NE(msg.find("dataset /logits has shape [1, 250, 10], the attributes N, C, V say "
                     "[1, 1000000000000, 10]"),
            std::string::npos)
      << msg;
  EXPECT_EQ(msg.find("unfinished"), std::string::npos) << msg;
}

// 2,000,000 rows of compressed zeros: a few MB on disk, 80 MB a dataset in memory, and the old
// whole-file verification held several copies at once in float64. Block by block it stays small.
TEST_F(CacheTest, VerifyingAHighlyCompressedCacheTakesBoundedMemory) {
  CacheHeader h;
  h.teacher_source = "kdpipe";
  h.teacher_arch = "mlp:1";
  h.dataset = "mnist";
  h.split = "train";
  h.dataset_fingerprint = "0";
  h.n = 2'000'000;
  h.c = 10;
  h.v = 1;
  h.chunk = 1 << 17;
  h.temperatures = {1, 4};
  h.dtype = "float32";
  h.augment = "none";
  h.input = "normalized";
  h.kdpipe_version = "test";
  h.created = "now";
  for (int c = 0; c < 10; ++c) h.class_names.push_back("class " + std::to_string(c));
  {
    LogitCacheWriter writer(dir_ / "bomb.h5", h, /*deflate=*/9);
    for (int64_t k = 0; k < writer.chunk_count(); ++k) {
      const int64_t n = std::min(h.chunk, h.n - k * h.chunk);
      writer.write_chunk(k, torch::zeros({1, n, 10}), torch::zeros({n}, torch::kInt64));
    }
    writer.finish();
  }
  EXPECT_LT(fs::file_size(dir_ / "bomb.h5"), 20'000'000u);
  // kdpipe's whole address space capped at 1 GiB (it maps about 0.8 GB at start): the old
  // verification needed about 1 GB more for these 2,000,000 rows.
  const testing::ProcessResult r = testing::run_command(testing::limited_kdpipe_command(
      std::size_t{1} << 30, "inspect " + (dir_ / "bomb.h5").string()));
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("intact: shapes and attributes agree"), std::string::npos) << r.output;
}

// Caches of kdpipe 0.2 hold FNV-1a fingerprints: refused by their version, with what to do.
TEST_F(CacheTest, ACacheOfTheOldFingerprintFormatIsNamedAsSuch) {
  build_cache(options().views(1), quiet);
  const std::string fingerprint = LogitCache(dir_ / "cache.h5").header().dataset_fingerprint;
  EXPECT_EQ(fingerprint.size(), 32u);  // XXH3-128
  testing::set_h5_attribute(dir_ / "cache.h5", "format_version", "1");
  const std::string msg = error_of([&] { LogitCache cache(dir_ / "cache.h5"); });
  EXPECT_NE(msg.find("field 'format_version' is 1: a cache made by kdpipe before 0.3, whose "
                     "fingerprints used a weaker hash"),
            std::string::npos)
      << msg;
  EXPECT_NE(
      msg.find("upgrade it with kdpipe inspect --upgrade, or make it again with kdpipe cache"),
      std::string::npos)
      << msg;
}

}  // namespace
}  // namespace kd
