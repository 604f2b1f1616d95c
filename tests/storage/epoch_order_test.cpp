// The pieces of reading a split as it trains that need no file: the chunked order
// (lib/data/example_stream.h), channel moments block by block, and --memory's default
// (lib/core/memory_limit.h). The stream over an array file: array_stream_test.cpp.
#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "lib/core/memory_limit.h"
#include "lib/data/datasets.h"
#include "lib/data/example_stream.h"
#include "lib/data/image_set.h"
#include "tests/support/temp_dir.h"

namespace kd {
namespace {

namespace fs = std::filesystem;

// Chunks of 64, windows of 4 chunks: 256 examples.
EpochPattern small_chunks() {
  EpochPattern p;
  p.chunked = true, p.chunk = 64, p.window = 4;
  return p;
}

std::vector<int64_t> as_vector(const torch::Tensor& t) {
  const torch::Tensor c = t.contiguous();
  return {c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel()};
}
TEST(EpochOrder, AWholeSplitKeepsItsPermutation) {
  EXPECT_TRUE(torch::equal(epoch_order(1000, EpochPattern{}, 7, 3), epoch_order(1000, 7, 3)));
  EXPECT_FALSE(epoch_pattern(1000, 28 * 28).chunked);
  EXPECT_FALSE(epoch_pattern(kWholeShuffleBytes / 100, 100).chunked);
  EXPECT_TRUE(epoch_pattern(kWholeShuffleBytes / 100 + 1, 100).chunked);
  EXPECT_EQ(EpochPattern{}.text(), "whole");
  EXPECT_EQ(epoch_pattern(1 << 20, 1024).text(),
            "chunked (256 examples a chunk, 16 chunks a window)");
}

TEST(EpochOrder, AChunkedOrderVisitsEveryExampleOnceAWindowOfChunksAtATime) {
  const EpochPattern p = small_chunks();
  const int64_t n = 1000;  // 16 chunks, the last of 40; 4 windows
  const std::vector<int64_t> order = as_vector(epoch_order(n, p, 5, 2));
  ASSERT_EQ(order.size(), static_cast<std::size_t>(n));
  EXPECT_EQ(std::set<int64_t>(order.begin(), order.end()).size(), static_cast<std::size_t>(n));
  const std::vector<int64_t> chunks = chunk_order(n, p, 5, 2);
  std::size_t at = 0;
  for (std::size_t w = 0; w * p.window < chunks.size(); ++w) {
    std::set<int64_t> window_chunks(chunks.begin() + w * p.window,
                                    chunks.begin() + std::min(chunks.size(), (w + 1) * p.window));
    int64_t members = 0;
    for (int64_t c : window_chunks) members += std::min(n, (c + 1) * p.chunk) - c * p.chunk;
    for (int64_t k = 0; k < members; ++k, ++at)
      ASSERT_TRUE(window_chunks.count(order[at] / p.chunk)) << "window " << w << " position " << k;
  }
  EXPECT_EQ(at, order.size());
  // Determined by (seed, epoch), different across epochs and seeds, shuffled within windows.
  EXPECT_TRUE(torch::equal(epoch_order(n, p, 5, 2), epoch_order(n, p, 5, 2)));
  EXPECT_FALSE(torch::equal(epoch_order(n, p, 5, 2), epoch_order(n, p, 5, 3)));
  EXPECT_FALSE(torch::equal(epoch_order(n, p, 5, 2), epoch_order(n, p, 6, 2)));
  int64_t runs = 0;
  for (std::size_t i = 1; i < order.size(); ++i) runs += order[i] == order[i - 1] + 1;
  EXPECT_LT(runs, 50);
}

TEST(ChannelMoments, BlockByBlockIsChannelStatisticsBitForBit) {
  torch::manual_seed(3);
  const torch::Tensor images = torch::randint(0, 256, {2500, 3, 5, 4}, torch::kUInt8);
  // Blocks of any size, in any order, channels last or not: the same result, bit for bit.
  ChannelMoments moments(3);
  for (int64_t s : {1024, 0, 2048})
    moments.add(images.slice(0, s, std::min<int64_t>(2500, s + 1024)));
  EXPECT_EQ(moments.result(), channel_statistics(images));
  const torch::Tensor channels_last = images.permute({0, 2, 3, 1}).contiguous();
  EXPECT_EQ(channel_statistics(channels_last.permute({0, 3, 1, 2})), channel_statistics(images));
  // And what the definition gives, computed in doubles.
  const torch::Tensor x = images.to(torch::kFloat64) / 255.0;
  const torch::Tensor mean = x.mean({0, 2, 3}), sd = x.std({0, 2, 3}, /*unbiased=*/false);
  const auto [m, s] = channel_statistics(images);
  for (int c = 0; c < 3; ++c) {
    EXPECT_NEAR(m[static_cast<std::size_t>(c)], mean[c].item<double>(), 1e-6);
    EXPECT_NEAR(s[static_cast<std::size_t>(c)], sd[c].item<double>(), 1e-6);
  }
  // A constant channel gets std 1 (its inputs merely centred).
  EXPECT_EQ(channel_statistics(torch::full({4, 1, 2, 2}, 7, torch::kUInt8)).second,
            std::vector<float>{1.0f});
}

void write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

TEST(MemoryLimit, CgroupsThenSlurmThenHalfTheMachine) {
  testing::TempDir root;
  write(root / "proc/meminfo", "MemTotal:       8000000 kB\nMemFree: 1 kB\n");
  write(root / "proc/self/cgroup", "4:memory:/job\n0::/job\n");
  ::unsetenv("SLURM_MEM_PER_NODE");
  ::unsetenv("SLURM_MEM_PER_CPU");
  EXPECT_EQ(memory_limit(root.path().string()).bytes, int64_t{8000000} * 1024 / 2);
  write(root / "sys/fs/cgroup/memory/job/memory.limit_in_bytes", "9223372036854771712\n");
  EXPECT_EQ(memory_limit(root.path().string()).source, "half of MemTotal");  // v1's "no limit"
  ::setenv("SLURM_MEM_PER_CPU", "1000", 1);
  ::setenv("SLURM_CPUS_ON_NODE", "3", 1);
  EXPECT_EQ(memory_limit(root.path().string()).bytes, int64_t{3000} << 20);
  ::setenv("SLURM_MEM_PER_NODE", "2000", 1);
  EXPECT_EQ(memory_limit(root.path().string()).bytes, int64_t{2000} << 20);
  ::setenv("SLURM_MEM_PER_NODE", "96G", 1);  // not SLURM's own spelling (MB, digits): ignored
  EXPECT_EQ(memory_limit(root.path().string()).bytes, int64_t{3000} << 20);
  ::setenv("SLURM_MEM_PER_NODE", "99999999999999999999", 1);  // beyond any machine: ignored
  EXPECT_EQ(memory_limit(root.path().string()).bytes, int64_t{3000} << 20);
  ::setenv("SLURM_MEM_PER_NODE", "2000", 1);
  write(root / "sys/fs/cgroup/memory/job/memory.limit_in_bytes", "2147483648\n");
  EXPECT_EQ(memory_limit(root.path().string()).source, "cgroup v1");
  write(root / "sys/fs/cgroup/job/memory.max", "1073741824\n");
  const MemoryLimit v2 = memory_limit(root.path().string());
  EXPECT_EQ(v2.bytes, int64_t{1} << 30);
  EXPECT_EQ(v2.source, "cgroup v2");
  // --memory's default keeps 512 MB of the limit for the process (half of a limit under 1 GB).
  const MemoryLimit data = data_memory(root.path().string());
  EXPECT_EQ(data.bytes, int64_t{512} << 20);
  EXPECT_EQ(data.source, "cgroup v2 less 512 MB for the process");
  write(root / "sys/fs/cgroup/job/memory.max", "629145600\n");  // 600 MB
  EXPECT_EQ(data_memory(root.path().string()).bytes, int64_t{300} << 20);
  ::unsetenv("SLURM_MEM_PER_NODE");
  ::unsetenv("SLURM_MEM_PER_CPU");
  ::unsetenv("SLURM_CPUS_ON_NODE");
}

}  // namespace
}  // namespace kd
