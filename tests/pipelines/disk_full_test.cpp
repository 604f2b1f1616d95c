// Every writer on a full disk (teach, cache, distill, report) (a small tmpfs mounted for the test):
// exit status 1, one error line naming the file and the reason, no final-named partial file, no
// temporaries left behind, and a correct run once space is freed. Skips with a message where
// mounting is not permitted.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "lib/core/files.h"
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
  // 22 KB of numbers: within the free space kdpipe checks before writing (a larger cache is
  // refused then, CacheTest.ACacheLargerThanItsDiskIsRefusedBeforeWriting), but not with the
  // file's own structure, so the disk fills while it is written.
  const std::string cache = "cache --teacher " + (dir_ / "teacher").string() + data() +
                            " --views 1 --temperatures 1 --out ";
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

// The report of a (synthetic) run on a disk with room for its data files but not its figures:
// one error line, and no figure under its final name that gnuplot did not finish.
TEST_F(DiskFull, ReportLeavesNoTruncatedFigure) {
  grow();
  const fs::path run = disk_ / "run";
  nlohmann::json stages = nlohmann::json::array();
  for (int seed = 0; seed < 2; ++seed) {
    for (double t : {1.0, 4.0}) {
      const std::string id =
          "distill/T" + std::to_string(static_cast<int>(t)) + "-seed" + std::to_string(seed);
      fs::create_directories(run / id);
      std::ofstream(run / id / "metrics.json")
          << nlohmann::json({{"options",
                              {{"arch", "mlp:8"},
                               {"baseline", "none"},
                               {"smoothing", 0.0},
                               {"seed", seed},
                               {"temperature", t},
                               {"alpha", 1.0}}},
                             {"teacher", {{"smoothing", 0.1}}},
                             {"test", {{"accuracy", 0.8 + 0.01 * t}, {"ece", 0.02}}},
                             {"target_gamma", 0.1 * t}})
                 .dump();
      stages.push_back({{"id", id}, {"kind", "distill"}, {"output", id + "/metrics.json"}});
    }
  }
  std::ofstream(run / "manifest.json") << nlohmann::json({{"stages", stages}}).dump();
  // Leave 12 KB: the data and scripts fit, a PNG does not.
  struct statvfs fs_info {};
  ASSERT_EQ(::statvfs(disk_.c_str(), &fs_info), 0);
  const std::size_t free_bytes = fs_info.f_bavail * fs_info.f_frsize;
  ASSERT_GT(free_bytes, 12u << 10);
  std::ofstream(disk_ / "filler", std::ios::binary) << std::string(free_bytes - (12u << 10), '\0');

  const ProcessResult r = testing::run_kdpipe("report " + run.string());
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  EXPECT_NE(r.output.find(run.string()), std::string::npos) << r.output;
  for (const auto& e : fs::directory_iterator(run / "report" / "figures")) {
    const std::string name = e.path().filename().string();
    EXPECT_EQ(name.find(".tmp-"), std::string::npos) << name;
    const std::string text = read_text(e.path());
    if (e.path().extension() == ".png") {
      EXPECT_NE(text.find("IEND"), std::string::npos) << name;
    }
    if (e.path().extension() == ".svg") {
      EXPECT_NE(text.find("</svg>"), std::string::npos) << name;
    }
  }
  EXPECT_FALSE(fs::exists(run / "report" / "report.html"));
  fs::remove(disk_ / "filler");
  const ProcessResult again = testing::run_kdpipe("report " + run.string());
  EXPECT_EQ(again.status, 0) << again.output;
}

}  // namespace
}  // namespace kd
