// Training data read from an array file as it trains (storage/array_stream.h); the pieces that
// need no file are in epoch_order_test.cpp.
#include "storage/array_stream.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>

#include "lib/core/error.h"
#include "lib/data/datasets.h"
#include "lib/data/example_stream.h"
#include "lib/data/streamed_dataset.h"
#include "storage/array_file.h"
#include "storage/direct_rows.h"
#include "storage/h5.h"
#include "tests/support/process.h"
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

class ArrayStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    files_.train = testing::make_synthetic(1000, 4, 3, 6, 1);
    files_.test = testing::make_synthetic(50, 4, 3, 6, 2);
    // At 6x6 the synthetic class patch covers every pixel: every image would be the same, and
    // no test here could tell one row from another. Noise, one image from the next.
    torch::Generator gen = at::detail::createCPUGenerator(7);
    files_.train.images =
        torch::randint(0, 256, {1000, 3, 6, 6}, gen, torch::kInt64).to(torch::kUInt8);
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

// A batch inside one window is handed out as rows of the window itself, not a copy; rows a caller
// still holds when the stream moves on are never overwritten by a later window.
TEST_F(ArrayStreamTest, RowsHandedOutAreTheWindowsOwnAndOutliveIt) {
  const auto [train_rows, val_rows] = hold_out_rows(1000, 100);
  const EpochPattern p = small_chunks();  // windows of 256 examples of 108 bytes
  const std::shared_ptr<ExampleStream> s =
      open_array_stream(path(), "train", train_rows, 2 * 27648);  // buffers reused from window 3
  s->start_epoch(p, 9, 0);
  const StreamedRows first = s->next_rows(100);
  const StreamedRows second = s->next_rows(100);
  EXPECT_EQ(first.images.data_ptr(), second.images.data_ptr());  // one window, no copies
  const torch::Tensor kept = first.images.index_select(0, first.at);
  std::set<const void*> later;  // where the later windows' rows were handed out from
  for (int64_t taken = 200; taken < 900; taken += 100)
    later.insert(s->next_rows(std::min<int64_t>(100, 900 - taken)).images.data_ptr());
  EXPECT_EQ(later.count(first.images.data_ptr()), 0u) << "a held window was read over";
  EXPECT_TRUE(torch::equal(first.images.index_select(0, first.at), kept));
  const torch::Tensor file_rows = torch::tensor(train_rows, torch::kInt64);
  const torch::Tensor want =
      files_.train.images.index_select(0, file_rows.index_select(0, epoch_order(900, p, 9, 0)));
  EXPECT_TRUE(torch::equal(kept, want.narrow(0, 0, 100)));
}

// Each rank of a data-parallel training reads its own share of every batch, and only that: the
// ranks' reads put together are the epoch's batches, whether the file is read past HDF5
// (uncompressed) or through it (gzip, a chunk decompressed once for all the rows taken from it).
TEST_F(ArrayStreamTest, EachRankReadsItsShareOfEveryBatch) {
  const fs::path plain = dir_ / "plain.h5";
  write_array_file(plain, files_, "test", 0);
  const auto [train_rows, val_rows] = hold_out_rows(1000, 100);
  const torch::Tensor file_rows = torch::tensor(train_rows, torch::kInt64);
  const EpochPattern p = small_chunks();
  for (const fs::path& file : {path(), plain}) {
    for (const auto& [ranks, batch] : {std::pair{2, 128}, std::pair{3, 100}, std::pair{4, 900}}) {
      const torch::Tensor want =
          files_.train.images.index_select(0, file_rows.index_select(0, epoch_order(900, p, 9, 1)));
      for (int rank = 0; rank < ranks; ++rank) {
        const std::shared_ptr<ExampleStream> s =
            open_array_stream(file, "train", train_rows, int64_t{64} << 20);
        const RankSlice slice{rank, ranks, batch};
        s->start_epoch(p, 9, 1, slice);
        for (int64_t first = 0; first < 900; first += batch) {
          const int64_t m = std::min<int64_t>(batch, 900 - first);
          const auto [lo, hi] = slice.of_batch(m);
          EXPECT_TRUE(torch::equal(s->next(hi - lo), want.narrow(0, first + lo, hi - lo)))
              << file << ": rank " << rank << " of " << ranks << ", batch at " << first;
        }
        EXPECT_THROW(s->next(1), StorageError);  // nothing more for this rank
      }
    }
  }
  // The most a rank reads of a window bounds what it holds.
  const RankSlice slice{1, 3, 100};
  int64_t most = 0;
  for (int64_t at = 0; at + 256 <= 900; ++at) {  // a window of small_chunks: 256 examples
    int64_t kept = 0;
    for (int64_t q = at; q < at + 256; ++q) kept += slice.keeps(q, 900);
    most = std::max(most, kept);
  }
  EXPECT_LE(most, slice.most_of(256));
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

// Rows read past HDF5 (O_DIRECT, storage/direct_rows.h) where the layout allows, through HDF5
// otherwise: the same examples from every layout h5py or kdpipe writes.
TEST_F(ArrayStreamTest, EveryLayoutGivesTheSameRows) {
  const fs::path plain = dir_ / "plain.h5";
  write_array_file(plain, files_, "test", 0);  // kdpipe's chunks of 256 whole images, unfiltered
  const std::string script =
      "import h5py, sys\n"
      "src = h5py.File(sys.argv[1], 'r')\n"
      "for name, kw in (('contiguous', {}), ('parts', {'chunks': (40, 2, 3, 3)}),\n"
      "                 ('odd', {'chunks': (7, 6, 6, 3)})):\n"
      "    with h5py.File(sys.argv[2] + '/' + name + '.h5', 'w') as f:\n"
      "        for split in ('train', 'test'):\n"
      "            f.create_dataset(split + '/images', data=src[split + '/images'][()], **kw)\n"
      "            f.create_dataset(split + '/labels', data=src[split + '/labels'][()])\n";
  const fs::path py = dir_ / "layouts.py";
  std::ofstream(py) << script;
  const testing::ProcessResult r = testing::run_command(
      "/usr/bin/python3 " + py.string() + " " + plain.string() + " " + dir_.path().string());
  ASSERT_EQ(r.status, 0) << r.output;
  const auto [train_rows, val_rows] = hold_out_rows(1000, 100);
  const torch::Tensor want = files_.train.images.index_select(0, torch::tensor(train_rows));
  const EpochPattern p = small_chunks();
  // Read directly: unfiltered whole images, where the file system takes O_DIRECT (ext4, xfs; not
  // tmpfs).
  const int probe = ::open(plain.c_str(), O_RDONLY | O_DIRECT);
  const bool o_direct = probe >= 0;
  if (probe >= 0) ::close(probe);
  const std::map<std::string, bool> direct = {{"data", false},
                                              {"plain", o_direct},
                                              {"contiguous", o_direct},
                                              {"parts", false},
                                              {"odd", o_direct}};
  for (const auto& [name, is_direct] : direct) {
    const fs::path file = dir_ / (name + ".h5");
    {
      const h5::Handle f = h5::open_file(file, false);
      EXPECT_EQ(DirectRows::open(file, h5::open_dataset(f.get(), "/train/images", file).get(),
                                 108) != nullptr,
                is_direct)
          << name;
    }
    const std::shared_ptr<ExampleStream> s = open_array_stream(file, "train", train_rows, 0);
    std::vector<torch::Tensor> blocks;
    s->for_each_block(300, [&](int64_t, const torch::Tensor& images) { blocks.push_back(images); });
    EXPECT_TRUE(torch::equal(torch::cat(blocks), want)) << name;
    s->start_epoch(p, 9, 1);
    EXPECT_TRUE(torch::equal(s->next(900), want.index_select(0, epoch_order(900, p, 9, 1))))
        << name;
    EXPECT_TRUE(torch::equal(s->read(torch::tensor({5, 899, 0})).images,
                             want.index_select(0, torch::tensor({5, 899, 0}))))
        << name;
  }
}

TEST_F(ArrayStreamTest, AFileChangedWhileItIsReadStopsTheReading) {
  const auto [train_rows, val_rows] = hold_out_rows(1000, 100);
  const EpochPattern p = small_chunks();  // windows of 256 examples of 108 bytes: 4 an epoch
  // Room for two windows: one read ahead of the one being taken.
  const std::shared_ptr<ExampleStream> s =
      open_array_stream(path(), "train", train_rows, 2 * 27648);
  s->start_epoch(p, 9, 0);
  s->next(128);
  fs::last_write_time(path(), fs::last_write_time(path()) + std::chrono::seconds(10));
  try {
    for (int64_t taken = 128; taken < 900; taken += 128)
      s->next(std::min<int64_t>(128, 900 - taken));
    ADD_FAILURE() << "the changed file was read to the end";
  } catch (const StorageError& e) {
    EXPECT_NE(std::string(e.what()).find("data.h5: changed while it was read"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(s->for_each_block(300, [](int64_t, const torch::Tensor&) {}), StorageError);
  EXPECT_THROW(s->subset(torch::arange(10)), StorageError);  // a subset keeps the first look
  EXPECT_NO_THROW(open_array_stream(path(), "train", train_rows, 0));  // a new one sees it as is
}

TEST_F(ArrayStreamTest, DataHeldBeyondMemoryAreNamedInTheLog) {
  enable_array_files();
  // 1,000 examples of 108 bytes: a whole-permutation split, always held.
  const DataOptions options = DataOptions(path().string()).val_size(100).stream(true);
  const Dataset data = load_dataset(DataOptions(options).memory_mb(1));
  EXPECT_EQ(held_memory_note(DataOptions(options).memory_mb(1), data), "");  // 0.1 MB of 1
  EXPECT_EQ(held_memory_note(DataOptions(options).memory_mb(1000), data), "");
  Dataset big = data;  // as if its training split took 2 MB
  big.train.images = torch::zeros({2 << 20}, torch::kUInt8);
  EXPECT_EQ(held_memory_note(DataOptions(options).memory_mb(1), big),
            "the data take 3 MB of memory, more than --memory 1 MB (as given): a training split "
            "of 256 MB or less is held whole");
}

}  // namespace
}  // namespace kd
