// Every writer on a full disk (a small tmpfs mounted for the test): exit status 1, one error line
// naming the file and the reason, no final-named partial file, no temporaries left behind, and a
// correct run once space is freed. Skips with a message where mounting is not permitted.
#include <gtest/gtest.h>
#include <sys/mount.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "tests/support/process.h"
#include "tests/support/synthetic.h"
#include "tests/support/temp_dir.h"

namespace kd {
namespace {

namespace fs = std::filesystem;
using testing::ProcessResult;

class DiskFull : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::write_synthetic_mnist(dir_ / "data", 300, 60);
    fs::create_directories(disk_);
    if (::mount("tmpfs", disk_.c_str(), "tmpfs", 0, "size=24k") != 0) {
      GTEST_SKIP() << "cannot mount a tmpfs here (" << std::strerror(errno)
                   << "): the disk-full tests need root and a kernel that allows it";
    }
    mounted_ = true;
  }
  void TearDown() override {
    if (mounted_) ::umount2(disk_.c_str(), MNT_DETACH);
  }
  // Frees space: the tmpfs grows, its files stay.
  void grow() const {
    ASSERT_EQ(::mount("tmpfs", disk_.c_str(), "tmpfs", MS_REMOUNT, "size=64m"), 0)
        << std::strerror(errno);
  }
  std::string data() const {
    return " --dataset mnist --data-dir " + (dir_ / "data").string() + " --val-size 50";
  }
  ProcessResult teach(const fs::path& out) const {
    return testing::run_kdpipe("teach --arch mlp:32 --epochs 1 --mi-examples 10" + data() +
                               " --out " + out.string());
  }
  // One line says what failed, with the system's reason, and nothing crashed.
  static void expect_full_disk_error(const ProcessResult& r, const std::string& file) {
    EXPECT_EQ(r.status, 1) << r.output;
    std::istringstream lines(r.output);
    int errors = 0;
    for (std::string line; std::getline(lines, line);) {
      if (line.find("error:") == std::string::npos) continue;
      ++errors;
      EXPECT_NE(line.find(file), std::string::npos) << line;
      EXPECT_NE(line.find("No space left on device"), std::string::npos) << line;
    }
    EXPECT_EQ(errors, 1) << r.output;
  }
  // No temporary file anywhere under `dir`.
  static void expect_no_temporaries(const fs::path& dir) {
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
      EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
    }
  }

  testing::TempDir dir_;
  fs::path disk_ = dir_ / "disk";
  bool mounted_ = false;
};

TEST_F(DiskFull, TeachFailsCleanlyAndRunsOnceThereIsSpace) {
  const ProcessResult r = teach(disk_ / "teacher");
  expect_full_disk_error(r, (disk_ / "teacher").string());
  EXPECT_FALSE(fs::exists(disk_ / "teacher" / "model.pt"));
  EXPECT_FALSE(fs::exists(disk_ / "teacher" / "metrics.json"));
  expect_no_temporaries(disk_);
  grow();
  const ProcessResult again = teach(disk_ / "teacher");
  ASSERT_EQ(again.status, 0) << again.output;
  EXPECT_TRUE(fs::exists(disk_ / "teacher" / "metrics.json"));
}

TEST_F(DiskFull, CacheAndDistillFailCleanlyAndRunOnceThereIsSpace) {
  ASSERT_EQ(teach(dir_ / "teacher").status, 0);
  const std::string cache = "cache --teacher " + (dir_ / "teacher").string() + data() +
                            " --views 2 --temperatures 1 4 --out ";
  ProcessResult r = testing::run_kdpipe(cache + (disk_ / "train.h5").string());
  expect_full_disk_error(r, (disk_ / "train.h5").string());
  EXPECT_FALSE(fs::exists(disk_ / "train.h5"));
  expect_no_temporaries(disk_);

  // A student whose cache is elsewhere, written to the full disk.
  ASSERT_EQ(testing::run_kdpipe(cache + (dir_ / "train.h5").string()).status, 0);
  const std::string distill = "distill --cache " + (dir_ / "train.h5").string() + data() +
                              " --arch mlp:16 --temperature 4 --epochs 1 --out ";
  r = testing::run_kdpipe(distill + (disk_ / "student").string());
  expect_full_disk_error(r, (disk_ / "student").string());
  EXPECT_FALSE(fs::exists(disk_ / "student" / "model.pt"));
  EXPECT_FALSE(fs::exists(disk_ / "student" / "metrics.json"));
  expect_no_temporaries(disk_);

  grow();
  r = testing::run_kdpipe(cache + (disk_ / "train.h5").string());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(testing::run_kdpipe("inspect " + (disk_ / "train.h5").string()).status, 0);
  r = testing::run_kdpipe(distill + (disk_ / "student").string());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(fs::exists(disk_ / "student" / "metrics.json"));
}

}  // namespace
}  // namespace kd
