// Array files written by h5py (Debian's python3-h5py) load as datasets; the import writer's
// files read back; every malformed file ends in one line naming the file and the array.
#include "storage/array_file.h"

#include <gtest/gtest.h>

#include <fstream>

#include "lib/core/error.h"
#include "lib/data/datasets.h"
#include "lib/data/image_folder.h"
#include "tests/support/process.h"
#include "tests/support/synthetic.h"
#include "tests/support/temp_dir.h"

namespace kd {
namespace {

namespace fs = std::filesystem;

class ArrayFile : public ::testing::Test {
 protected:
  void SetUp() override { enable_array_files(); }
  // Runs write_arrays.py for `which`; the path of the file it wrote.
  fs::path write(const std::string& which) {
    const fs::path file = dir_ / (which + ".h5");
    const testing::ProcessResult py = testing::run_command(
        "/usr/bin/python3 " + (testing::source_dir() / "tests/storage/write_arrays.py").string() +
        " " + file.string() + " " + which);
    EXPECT_EQ(py.status, 0) << "needs Debian's python3-h5py (bash .ci/setup installs it): "
                            << py.output;
    return file;
  }
  std::string error_of(const std::string& which) {
    const fs::path file = write(which);
    try {
      load_dataset(DataOptions(file.string()).val_size(2));
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(file.string()), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
      return e.what();
    }
    return "no error";
  }
  testing::TempDir dir_;
};

// What write_arrays.py stores: pixel (7 * flat index) mod 256 of [N, H, W, C], label index mod 3.
torch::Tensor expected_images(int64_t n, int64_t c) {
  return (torch::arange(n * 6 * 5 * c, torch::kInt64) * 7 % 256)
      .to(torch::kUInt8)
      .reshape({n, 6, 5, c})
      .permute({0, 3, 1, 2});
}

TEST_F(ArrayFile, H5pyFileLoadsAsADataset) {
  const fs::path file = write("good");
  const DataOptions options = DataOptions(file.string()).val_size(2);
  EXPECT_EQ(dataset_kind(options), DatasetKind::array_file);
  const DatasetInfo probe = describe_dataset(options);
  EXPECT_EQ(probe.name, "good");
  EXPECT_EQ(probe.classes, 3);
  EXPECT_EQ(probe.channels, 3);
  EXPECT_EQ(probe.height, 6);
  EXPECT_EQ(probe.width, 5);
  EXPECT_EQ(probe.class_names, (std::vector<std::string>{"cat", "dog", "eel"}));
  const Dataset data = load_dataset(options);
  EXPECT_EQ(data.train.size() + data.val.size(), 12);
  EXPECT_EQ(data.test.size(), 4);
  EXPECT_TRUE(data.test.images.equal(expected_images(4, 3)));
  EXPECT_TRUE(data.test.labels.equal(torch::arange(4) % 3));
  ASSERT_EQ(data.info.mean.size(), 3u);
  const torch::Tensor px = expected_images(12, 3).to(torch::kFloat64) / 255.0;
  EXPECT_NEAR(data.info.mean[1], px.select(1, 1).mean().item<double>(), 1e-6);
}

TEST_F(ArrayFile, AcceptsGreyNhwBytesNamesAndNoNames) {
  const Dataset grey = load_dataset(DataOptions(write("grey-nhw").string()).val_size(2));
  EXPECT_EQ(grey.info.channels, 1);
  EXPECT_EQ(grey.info.class_names, (std::vector<std::string>{"class 0", "class 1", "class 2"}));
  const DatasetInfo bytes = describe_dataset(DataOptions(write("bytes-names").string()));
  EXPECT_EQ(bytes.class_names, (std::vector<std::string>{"cat", "dog", "eel"}));
  EXPECT_EQ(describe_dataset(DataOptions(write("no-names").string())).classes, 3);
  // Conversion applies to array files too.
  const Dataset big =
      load_dataset(DataOptions(write("good").string()).val_size(2).format({1, 12, 10}));
  EXPECT_EQ(big.test.images.sizes(), (std::vector<int64_t>{4, 1, 12, 10}));
}

// Images are read a block of examples at a time (16 MB) and laid out as [N, C, H, W]: a file of
// several blocks reads back exactly.
TEST_F(ArrayFile, AFileOfSeveralReadBlocksRoundTrips) {
  DatasetFiles files;
  files.train = testing::make_synthetic(1500, 10, 3, 64, 5);  // 18 MB: two blocks
  files.test = testing::make_synthetic(10, 10, 3, 64, 6);
  for (int c = 0; c < 10; ++c) files.class_names.push_back("class " + std::to_string(c));
  write_array_file(dir_ / "blocks.h5", files, "test", 0);
  const DatasetFiles back = read_array_file(dir_ / "blocks.h5");
  EXPECT_TRUE(back.train.images.equal(files.train.images));
  EXPECT_TRUE(back.train.labels.equal(files.train.labels));
  EXPECT_TRUE(back.test.images.equal(files.test.images));
}

// `kdpipe import` decodes and writes a block at a time: any block size gives the file the
// whole folder read at once gives.
TEST_F(ArrayFile, ImportingABlockAtATimeWritesWhatTheWholeFolderGives) {
  DatasetFiles files;
  files.train = testing::make_synthetic(23, 3, 3, 8, 7);
  files.test = testing::make_synthetic(9, 3, 3, 8, 8);
  files.class_names = {"a", "b", "c"};
  testing::write_image_folder(dir_ / "folder", files);
  Progress quiet = Progress::silent();
  const DatasetFiles whole = read_image_folder(dir_ / "folder", {}, quiet);
  ASSERT_EQ(whole.train.size(), 23);  // (in the folder's order: class by class)
  for (const int64_t block_images : {1, 5, 23, 1000}) {
    const fs::path out = dir_ / ("import" + std::to_string(block_images) + ".h5");
    const ImportSummary s =
        import_image_folder(dir_ / "folder", {}, out, 0, quiet, block_images * 3 * 8 * 8);
    EXPECT_EQ(s.train, 23);
    EXPECT_EQ(s.test, 9);
    EXPECT_EQ(s.classes, 3);
    const DatasetFiles back = read_array_file(out);
    EXPECT_TRUE(back.train.images.equal(whole.train.images)) << block_images;
    EXPECT_TRUE(back.test.images.equal(whole.test.images)) << block_images;
    EXPECT_TRUE(back.train.labels.equal(whole.train.labels)) << block_images;
    EXPECT_TRUE(back.test.labels.equal(whole.test.labels)) << block_images;
    EXPECT_EQ(back.class_names, whole.class_names);
  }
}

TEST_F(ArrayFile, ImportWriterRoundTrips) {
  DatasetFiles files;
  files.train = testing::make_synthetic(20, 4, 3, 8, 1);
  files.test = testing::make_synthetic(6, 4, 3, 8, 2);
  files.class_names = {"w", "x", "y", "z"};
  write_array_file(dir_ / "imported.h5", files, "/somewhere", 4);
  const DatasetFiles back = read_array_file(dir_ / "imported.h5");
  EXPECT_TRUE(back.train.images.equal(files.train.images));
  EXPECT_TRUE(back.test.labels.equal(files.test.labels));
  EXPECT_EQ(back.class_names, files.class_names);
}

TEST_F(ArrayFile, MalformedFilesEndInOneLineNamingTheArray) {
  EXPECT_NE(error_of("missing-test-labels").find("/test/labels is missing"), std::string::npos);
  EXPECT_NE(error_of("misshaped-labels").find("/test/labels has shape [4, 2]"), std::string::npos);
  EXPECT_NE(error_of("float-images").find("/train/images must be uint8"), std::string::npos);
  // Signed bytes would be clamped at 0 on reading them as uint8: refused, not silently changed.
  EXPECT_NE(
      error_of("int8-images").find("/train/images must be uint8 pixels (it holds signed int8)"),
      std::string::npos);
  EXPECT_NE(error_of("other-test-shape").find("/test/images are 6x6x3"), std::string::npos);
  EXPECT_NE(error_of("label-out-of-range").find("labels must lie in [0, 3), found 4"),
            std::string::npos);
  // Declared sizes are checked against what the file holds before anything is allocated.
  EXPECT_NE(error_of("unwritten-images")
                .find("/train/images declares [1000000, 28, 28] but only 0 of its 1000000 chunks "
                      "were ever written"),
            std::string::npos)
      << error_of("unwritten-images");
  // A writer that stopped half-way: the chunks it never wrote are not read as zeros.
  EXPECT_NE(error_of("half-written-images")
                .find("/train/images declares [12, 6, 5, 3] but only 6 of its 12 chunks were ever "
                      "written"),
            std::string::npos)
      << error_of("half-written-images");
  EXPECT_NE(error_of("huge-label")
                .find("labels go up to 1000000000, more than kdpipe's 100000 "
                      "classes"),
            std::string::npos)
      << error_of("huge-label");
  // Not HDF5 at all.
  const fs::path junk = dir_ / "junk.h5";
  { std::ofstream(junk) << "junk"; }
  EXPECT_THROW(load_dataset(DataOptions(junk.string())), DataError);
}

}  // namespace
}  // namespace kd
