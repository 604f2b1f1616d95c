#include "storage/inference_engine.h"

#include <ATen/Context.h>
#include <gtest/gtest.h>
#include <tbb/global_control.h>

#include "lib/core/compute.h"
#include "lib/core/error.h"
#include "lib/core/runtime.h"
#include "tests/storage/cache_fixture.h"

namespace kd {
namespace {

using testing::CacheTest;

// A library call leaves the process as it found it: LibTorch's threads, TBB's parallelism and
// the TF32 switch are the caller's.
TEST_F(CacheTest, EngineChangesNoProcessWideSetting) {
  const int saved_threads = torch::get_num_threads();
  torch::set_num_threads(2);
  const auto parallelism =
      tbb::global_control::active_value(tbb::global_control::max_allowed_parallelism);
  const bool tf32 = at::globalContext().allowTF32CuDNN();
  std::vector<std::pair<int, std::size_t>> seen;  // LibTorch threads, TBB parallelism
  const TeacherModel teacher = TeacherModel::from_checkpoint(dir_ / "mlp");
  const int64_t images = run_inference(
      teacher, data_.train, data_.info, InferenceOptions().views(2).chunk(64).workers(1),
      [&](int64_t, const torch::Tensor&) {
        seen.emplace_back(
            torch::get_num_threads(),
            tbb::global_control::active_value(tbb::global_control::max_allowed_parallelism));
      });
  EXPECT_EQ(images, 2 * data_.train.size());
  ASSERT_EQ(seen.size(), 4u);                            // 250 examples in chunks of 64
  for (const auto& [threads, tbb_parallelism] : seen) {  // while it runs, too
    EXPECT_EQ(threads, 2);
    EXPECT_EQ(tbb_parallelism, parallelism);
  }
  EXPECT_EQ(torch::get_num_threads(), 2);
  EXPECT_EQ(at::globalContext().allowTF32CuDNN(), tf32);
  torch::set_num_threads(saved_threads);
}

// A device the build or machine cannot use is refused before any work, naming the device.
TEST_F(CacheTest, EngineRefusesAnImpossibleDeviceUpFront) {
  const TeacherModel teacher = TeacherModel::from_checkpoint(dir_ / "mlp");
  const torch::Device beyond(torch::kCUDA, 64);  // no machine has GPU 64
  bool called = false;
  try {
    run_inference(teacher, data_.train, data_.info, InferenceOptions().device(beyond),
                  [&](int64_t, const torch::Tensor&) { called = true; });
    ADD_FAILURE() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("device cuda:64"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(called);
  EXPECT_THROW(build_cache(options().device(beyond), quiet), ConfigError);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "cache.h5"));
}

TEST(Runtime, ThreadCountsAreBoundedByTheCpusAvailable) {
  EXPECT_EQ(thread_count(0), available_cores());
  EXPECT_EQ(thread_count(1), 1);
  try {
    thread_count(100000);
    ADD_FAILURE() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("--threads 100000: this process may use"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(thread_count(-1), ConfigError);
}

}  // namespace
}  // namespace kd
