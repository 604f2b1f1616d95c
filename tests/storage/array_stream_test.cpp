// Training data read as it trains: the chunked order (lib/data/example_stream.h), the stream over
// an array file (storage/array_stream.h), and --memory's default (lib/core/memory_limit.h).
#include "storage/array_stream.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <set>

#include "lib/core/error.h"
#include "lib/core/memory_limit.h"
#include "lib/data/datasets.h"
#include "lib/data/example_stream.h"
#include "storage/array_file.h"
#include "tests/support/synthetic.h"
#include "tests/support/temp_dir.h"

namespace kd {
namespace {

namespace fs = std::filesystem;

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
  ChannelMoments moments(3);
  for (int64_t s = 0; s < 2500; s += 1024)
    moments.add(images.slice(0, s, std::min<int64_t>(2500, s + 1024)));
  EXPECT_EQ(moments.result(), channel_statistics(images));
}

class ArrayStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    files_.train = testing::make_synthetic(1000, 4, 3, 6, 1);
    files_.test = testing::make_synthetic(50, 4, 3, 6, 2);
    for (int c = 0; c < 4; ++c) files_.class_names.push_back("c" + std::to_string(c));
    write_array_file(path(), files_, "test", 1);
  }
  fs::path path() const { return dir_ / "data.h5"; }
  testing::TempDir dir_;
  DatasetFiles files_;
};

TEST_F(ArrayStreamTest, AnEpochReadsTheSplitsRowsInTheChunkedOrder) {
  const auto [train_rows, val_rows] = hold_out_rows(1000, 100);
  const std::shared_ptr<ExampleStream> s =
      open_array_stream(path(), "train", train_rows, int64_t{64} << 20);
  ASSERT_EQ(s->size(), 900);
  const torch::Tensor file_rows = torch::tensor(train_rows, torch::kInt64);
  EXPECT_TRUE(torch::equal(s->labels(), files_.train.labels.index_select(0, file_rows)));
  const std::vector<int64_t> shape{3, 6, 6};
  EXPECT_EQ(s->example_shape(), shape);
  const EpochPattern p = small_chunks();
  for (int64_t epoch : {0, 1}) {
    s->start_epoch(p, 9, epoch);
    std::vector<torch::Tensor> got;
    for (int64_t taken = 0; taken < 900; taken += 128)
      got.push_back(s->next(std::min<int64_t>(128, 900 - taken)));
    const torch::Tensor want = files_.train.images.index_select(
        0, file_rows.index_select(0, epoch_order(900, p, 9, epoch)));
    EXPECT_TRUE(torch::equal(torch::cat(got), want)) << "epoch " << epoch;
    EXPECT_THROW(s->next(1), StorageError);  // past the end
  }
  s->start_epoch(p, 9, 0);  // restarted, and abandoned half-way: the reader stops cleanly
  s->next(300);
}

TEST_F(ArrayStreamTest, BlocksAndChosenRowsAreTheFilesExamples) {
  const auto [train_rows, val_rows] = hold_out_rows(1000, 100);
  const std::shared_ptr<ExampleStream> s = open_array_stream(path(), "train", train_rows, 0);
  const torch::Tensor held = files_.train.images.index_select(0, torch::tensor(train_rows));
  std::vector<torch::Tensor> blocks;
  s->for_each_block(300, [&](int64_t first, const torch::Tensor& images) {
    EXPECT_EQ(first, 300 * static_cast<int64_t>(blocks.size()));
    blocks.push_back(images);
  });
  EXPECT_TRUE(torch::equal(torch::cat(blocks), held));
  const torch::Tensor rows = torch::tensor({899, 3, 4, 5, 3, 0}, torch::kInt64);
  const ImageSet picked = s->read(rows);
  EXPECT_TRUE(torch::equal(picked.images, held.index_select(0, rows)));
  EXPECT_TRUE(torch::equal(picked.labels, s->labels().index_select(0, rows)));
  EXPECT_THROW(s->read(torch::tensor({900}, torch::kInt64)), ConfigError);
  const std::shared_ptr<ExampleStream> test = open_array_stream(path(), "test", {}, 0);
  EXPECT_TRUE(torch::equal(test->read(torch::arange(50)).images, files_.test.images));
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
  ::unsetenv("SLURM_MEM_PER_NODE");
  ::unsetenv("SLURM_MEM_PER_CPU");
  ::unsetenv("SLURM_CPUS_ON_NODE");
}

}  // namespace
}  // namespace kd
