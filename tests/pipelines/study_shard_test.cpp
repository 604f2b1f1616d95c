// cache.shards in a study: n shard stages and a merge stage per cache, whose merged cache the
// students read as they would the unsharded one, with the same results.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "lib/core/files.h"
#include "pipelines/study/stages.h"
#include "tests/pipelines/study_fixture.h"

namespace kd {
namespace {

namespace fs = std::filesystem;
using testing::StudyTest;

TEST_F(StudyTest, ShardedCachesAreMergedAndTaughtFromAsOne) {
  KD_SKIP_WITHOUT_GNUPLOT();
  write(edited("views = 2", "views = 2\nchunk = 64\nshards = 2"));
  const std::vector<Stage> stages = plan_stages(load_study(dir_ / "study.ini"));
  ASSERT_EQ(stages.size(), 13u);  // 2 teachers, 2 × (2 shards + a merge), 4 students, a baseline
  const auto merge = std::find_if(stages.begin(), stages.end(),
                                  [](const Stage& s) { return s.id == "cache/eps0-seed0"; });
  ASSERT_NE(merge, stages.end());
  EXPECT_EQ(merge->args.front(), "cache-merge");
  EXPECT_EQ(merge->deps, (std::vector<std::string>{"cache/eps0-seed0/shard-0of2",
                                                   "cache/eps0-seed0/shard-1of2"}));
  EXPECT_EQ(merge->output, "cache/eps0-seed0/train.h5");

  const testing::ProcessResult sharded = run("--jobs 1 --threads 1");
  ASSERT_EQ(sharded.status, 0) << sharded.output;
  EXPECT_NE(sharded.output.find("13 ran, 0 skipped"), std::string::npos) << sharded.output;
  const testing::ProcessResult shard = testing::run_kdpipe(
      "inspect " + (dir_ / "run/cache/eps0-seed0/shard-1of2/train.h5").string());
  EXPECT_NE(shard.output.find("shard        1/2: examples "), std::string::npos) << shard.output;

  // The same study unsharded: every model, prediction and cache value alike.
  write(edited("views = 2", "views = 2\nchunk = 64\nshards = 1"));
  const testing::ProcessResult whole =
      testing::run_kdpipe("run " + (dir_ / "study.ini").string() + " --out " +
                          (dir_ / "whole").string() + " --jobs 1 --threads 1");
  ASSERT_EQ(whole.status, 0) << whole.output;
  int compared = 0;
  for (const auto& entry : fs::recursive_directory_iterator(dir_ / "whole")) {
    const std::string name = entry.path().filename().string();
    if (name != "model.pt" && name != "predictions.pt") continue;
    const fs::path twin = dir_ / "run" / fs::relative(entry.path(), dir_ / "whole");
    EXPECT_TRUE(read_text(entry.path()) == read_text(twin)) << twin << " differs";
    ++compared;
  }
  EXPECT_GE(compared, 9);
  const testing::ProcessResult same = testing::run_command(
      "/usr/bin/python3 -c \"import sys, h5py, numpy as np\n"
      "a, b = (h5py.File(p, 'r') for p in sys.argv[1:])\n"
      "sys.exit(0 if all(np.array_equal(a[n][()], b[n][()]) for n in "
      "['logits', 'labels', 'probs/T=1', 'probs/T=4']) else 1)\" " +
      (dir_ / "whole/cache/eps0-seed0/train.h5").string() + " " +
      (dir_ / "run/cache/eps0-seed0/train.h5").string());
  EXPECT_EQ(same.status, 0) << same.output;
}

}  // namespace
}  // namespace kd
