// A stage's progress file: written whole, read back exactly, throttled, with an estimate of the
// time left from the work's own pace; and lock_holder, which tells who holds a lock untouched.
#include "lib/core/stage_progress.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "lib/core/file_lock.h"
#include "tests/support/temp_dir.h"

namespace kd {
namespace {

namespace fs = std::filesystem;

TEST(StageProgress, IsReadBackAsWritten) {
  testing::TempDir dir;
  StageProgress p;
  p.task = "epoch 3/15";
  p.fraction = 0.4125;
  p.items_per_second = 1234.5;
  p.elapsed_seconds = 61.25;
  p.eta_seconds = 90.5;
  p.updated_unix_ms = 1790000000123;
  p.pid = 4242;
  write_progress(dir / "progress.json", p);
  const auto q = read_progress(dir / "progress.json");
  ASSERT_TRUE(q.has_value());
  EXPECT_EQ(q->task, p.task);
  EXPECT_EQ(q->fraction, p.fraction);
  EXPECT_EQ(q->items_per_second, p.items_per_second);
  EXPECT_EQ(q->eta_seconds, p.eta_seconds);
  EXPECT_EQ(q->updated_unix_ms, p.updated_unix_ms);
  EXPECT_EQ(q->pid, 4242);
  EXPECT_FALSE(read_progress(dir / "missing.json").has_value());
  std::ofstream(dir / "half.json") << R"({"task": "epoch 1/)";
  EXPECT_FALSE(read_progress(dir / "half.json").has_value());
  // Nothing is left beside it: the temporary file was renamed into place.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 2);
}

TEST(StageProgress, ReporterThrottlesAndEstimatesFromThePaceSoFar) {
  testing::TempDir dir;
  const fs::path file = dir / "progress.json";
  auto now = std::chrono::steady_clock::now();  // moved by hand: no sleeps, exact times
  ProgressReporter reporter(file, std::chrono::milliseconds(200), [&] { return now; });
  reporter.report("training", "epoch 1/4", 0.0, 0);  // a new series is always written
  ASSERT_TRUE(read_progress(file).has_value());
  EXPECT_EQ(read_progress(file)->eta_seconds, -1);  // no pace yet
  EXPECT_EQ(read_progress(file)->pid, ::getpid());
  now += std::chrono::milliseconds(300);
  reporter.report("training", "epoch 2/4", 0.25, 500);
  const auto quarter = read_progress(file);
  ASSERT_TRUE(quarter.has_value());
  EXPECT_EQ(quarter->task, "epoch 2/4");
  // A quarter took 0.3 s: three quarters are left, 0.9 s.
  EXPECT_NEAR(quarter->eta_seconds, 0.9, 1e-6);
  now += std::chrono::milliseconds(150);
  reporter.report("training", "epoch 2/4", 0.3, 500);  // within 200 ms: not written
  EXPECT_EQ(read_progress(file)->fraction, 0.25);
  reporter.report("training", "epoch 4/4", 1.0, 500);  // the end is always written
  EXPECT_EQ(read_progress(file)->fraction, 1.0);
  EXPECT_EQ(read_progress(file)->eta_seconds, 0);
  // Unset: a command run by hand writes nothing.
  ProgressReporter none{fs::path()};
  EXPECT_FALSE(none.active());
  none.report("training", "epoch 1/1", 1.0, 0);
}

TEST(LockHolder, NamesTheProcessHoldingALockWithoutTakingIt) {
  testing::TempDir dir;
  const fs::path path = dir / "stage.lock";
  EXPECT_EQ(lock_holder(path), 0);  // no such file
  {
    const FileLock lock(path);
    ASSERT_TRUE(lock.held());
    EXPECT_EQ(lock_holder(path), ::getpid());
    EXPECT_EQ(lock_holder(path), ::getpid());  // asking twice changes nothing
  }
  EXPECT_EQ(lock_holder(path), 0);  // released with its holder
  const FileLock again(path);       // and never left taken by the asking
  EXPECT_TRUE(again.held());
}

}  // namespace
}  // namespace kd
