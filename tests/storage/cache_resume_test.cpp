// An interrupted cache run resumes to the same logits; a partial file of other settings is
// replaced, never resumed.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <torch/script.h>

#include <cstdio>
#include <fstream>

#include "lib/core/error.h"
#include "lib/core/file_lock.h"
#include "lib/core/files.h"
#include "lib/core/hash.h"
#include "lib/models/zoo.h"
#include "storage/cache_stage.h"
#include "storage/logit_cache.h"
#include "tests/storage/cache_fixture.h"
#include "tests/storage/h5_edit.h"
#include "tests/support/errors.h"
#include "tests/support/process.h"
#include "tests/support/synthetic.h"
#include "tests/support/temp_dir.h"

namespace kd {
namespace {

namespace fs = std::filesystem;
using testing::CacheTest;

TEST_F(CacheTest, InterruptedRunResumesToTheSameLogits) {
  build_cache(options(), quiet);
  const torch::Tensor reference = LogitCache(dir_ / "cache.h5").logits();
  fs::rename(dir_ / "cache.h5", dir_ / "reference.h5");

  const std::string cmd = "cache --dataset mnist --data-dir " + (dir_ / "data").string() +
                          " --val-size 50 --teacher " + (dir_ / "mlp").string() +
                          " --views 3 --temperatures 1 2.5 4 --chunk 64 --threads 2 --out " +
                          (dir_ / "cache.h5").string();
  const testing::ProcessResult killed =
      testing::run_kdpipe(cmd, "KDPIPE_FAULT_KILL_AFTER_CHUNKS=2");
  EXPECT_EQ(killed.signal, SIGKILL) << killed.output;
  EXPECT_FALSE(fs::exists(dir_ / "cache.h5"));  // no final name until complete
  EXPECT_TRUE(fs::exists(LogitCacheWriter::partial_path(dir_ / "cache.h5")));
  EXPECT_THROW(LogitCache(dir_ / "cache.h5"), StorageError);

  const testing::ProcessResult resumed = testing::run_kdpipe(cmd);
  ASSERT_EQ(resumed.status, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("after chunk 2 of 4"), std::string::npos) << resumed.output;
  EXPECT_FALSE(fs::exists(LogitCacheWriter::partial_path(dir_ / "cache.h5")));
  const LogitCache cache(dir_ / "cache.h5");
  EXPECT_TRUE(cache.logits().equal(reference));
  EXPECT_TRUE(cache.verify().empty());
}

TEST_F(CacheTest, PartialFileOfOtherSettingsIsReplacedNotResumed) {
  const testing::ProcessResult killed = testing::run_kdpipe(
      "cache --dataset mnist --data-dir " + (dir_ / "data").string() + " --val-size 50 --teacher " +
          (dir_ / "mlp").string() + " --views 2 --chunk 64 --out " + (dir_ / "cache.h5").string(),
      "KDPIPE_FAULT_KILL_AFTER_CHUNKS=1");
  ASSERT_EQ(killed.signal, SIGKILL) << killed.output;
  std::vector<std::string> lines;
  const CacheSummary s = build_cache(options(), [&](const std::string& l) { lines.push_back(l); });
  EXPECT_EQ(s.chunks_resumed, 0);
  ASSERT_FALSE(lines.empty());
  EXPECT_NE(lines[0].find("V: 3 vs 2"), std::string::npos) << lines[0];
  EXPECT_EQ(LogitCache(dir_ / "cache.h5").header().v, 3);
}

// While one process writes a cache, a second writer of the same --out is refused by name and
// leaves the first's unfinished file alone; once the first is gone, it resumes.
TEST_F(CacheTest, ASecondWriterOfOneCacheIsRefused) {
  // A first writer stopped after 2 chunks: its .partial stays, unfinished.
  const testing::ProcessResult first = testing::run_kdpipe(
      "cache --dataset mnist --data-dir " + (dir_ / "data").string() + " --val-size 50 --teacher " +
          (dir_ / "mlp").string() + " --views 3 --temperatures 1 2.5 4 --chunk 64 --out " +
          (dir_ / "cache.h5").string(),
      "KDPIPE_FAULT_KILL_AFTER_CHUNKS=2");
  ASSERT_EQ(first.signal, SIGKILL) << first.output;
  const fs::path partial = LogitCacheWriter::partial_path(dir_ / "cache.h5");
  const std::string before = hash_file(partial);
  {
    const FileLock running(dir_ / "cache.h5.lock");  // as the first writer holds it while it runs
    ASSERT_TRUE(running.held());
    const std::string msg = testing::error_of([&] { build_cache(options(), quiet); });
    EXPECT_NE(msg.find("another process is writing this cache now"), std::string::npos) << msg;
    EXPECT_EQ(hash_file(partial), before);
  }
  const CacheSummary s = build_cache(options(), quiet);
  EXPECT_EQ(s.chunks_resumed, 2);
  EXPECT_FALSE(fs::exists(dir_ / "cache.h5.lock"));
}

}  // namespace
}  // namespace kd
