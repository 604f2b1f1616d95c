#include <gtest/gtest.h>

#include <fstream>

#include "lib/core/error.h"
#include "lib/data/cifar.h"
#include "lib/data/datasets.h"
#include "lib/data/idx.h"
#include "tests/support/errors.h"
#include "tests/support/synthetic.h"
#include "tests/support/temp_dir.h"

namespace kd {
namespace {

using testing::TempDir;

torch::Tensor sample_images() {
  return torch::arange(3 * 4 * 5, torch::kInt64).reshape({3, 1, 4, 5}).to(torch::kUInt8);
}

using testing::error_of;

TEST(Idx, ReadsRawAndGzippedFilesAlike) {
  TempDir dir;
  for (bool gzip : {false, true}) {
    const auto path = dir / (gzip ? "img.gz" : "img");
    testing::write_idx_images(path, sample_images(), gzip);
    const torch::Tensor read = read_idx_images(path);
    EXPECT_EQ(read.sizes(), (std::vector<int64_t>{3, 1, 4, 5}));
    EXPECT_TRUE(read.equal(sample_images()));
  }
  testing::write_idx_labels(dir / "lab", torch::tensor({3, 1, 4}), true);
  EXPECT_TRUE(read_idx_labels(dir / "lab").equal(torch::tensor({3, 1, 4}, torch::kInt64)));
}

TEST(Idx, RefusesWrongMagicNamingTheFile) {
  TempDir dir;
  testing::write_idx_labels(dir / "labels-as-images", torch::tensor({1, 2}), false);
  const std::string msg = error_of([&] { read_idx_images(dir / "labels-as-images"); });
  EXPECT_NE(msg.find("labels-as-images"), std::string::npos) << msg;
  EXPECT_NE(msg.find("magic"), std::string::npos) << msg;
  EXPECT_THROW(read_idx_labels(dir / "nothing-here"), DataError);
}

TEST(Idx, RefusesTruncatedPixels) {
  TempDir dir;
  testing::write_idx_images(dir / "full", sample_images(), false);
  std::string bytes;
  {
    std::ifstream in(dir / "full", std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  testing::write_bytes(dir / "cut.gz", bytes.substr(0, bytes.size() - 7), true);
  const std::string msg = error_of([&] { read_idx_images(dir / "cut.gz"); });
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
  EXPECT_NE(msg.find("cut.gz"), std::string::npos) << msg;
  // A gzip stream cut in the middle is refused too, not read as short data silently.
  testing::write_bytes(dir / "whole.gz", bytes, true);
  std::string gz;
  {
    std::ifstream in(dir / "whole.gz", std::ios::binary);
    gz.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::ofstream(dir / "broken.gz", std::ios::binary) << gz.substr(0, gz.size() / 2);
  EXPECT_THROW(read_idx_images(dir / "broken.gz"), DataError);
}

TEST(Idx, RefusesLabelCountThatDoesNotMatchImages) {
  TempDir dir;
  testing::write_idx_images(dir / "train-images-idx3-ubyte.gz", sample_images(), true);
  testing::write_idx_labels(dir / "train-labels-idx1-ubyte.gz", torch::tensor({1, 2}), true);
  const std::string msg = error_of([&] { read_idx_split(dir.path(), "train", 10); });
  EXPECT_NE(msg.find("2 labels for 3 images"), std::string::npos) << msg;
}

TEST(Idx, RefusesLabelsOutOfRange) {
  TempDir dir;
  testing::write_idx_images(dir / "train-images-idx3-ubyte", sample_images(), false);
  testing::write_idx_labels(dir / "train-labels-idx1-ubyte", torch::tensor({1, 2, 12}), false);
  EXPECT_THROW(read_idx_split(dir.path(), "train", 10), DataError);
}

std::string cifar_record(int label_bytes, uint8_t label, uint8_t fill) {
  std::string r(static_cast<std::size_t>(label_bytes), static_cast<char>(7));
  r.back() = static_cast<char>(label);
  r.append(3 * 32 * 32, static_cast<char>(fill));
  return r;
}

TEST(Cifar, ReadsTenAndHundredClassRecords) {
  TempDir dir;
  testing::write_bytes(dir / "b10.bin", cifar_record(1, 3, 9) + cifar_record(1, 9, 200), false);
  const ImageSet ten = read_cifar_files({dir / "b10.bin"}, 1, 10);
  EXPECT_EQ(ten.images.sizes(), (std::vector<int64_t>{2, 3, 32, 32}));
  EXPECT_TRUE(ten.labels.equal(torch::tensor({3, 9}, torch::kInt64)));
  EXPECT_EQ(ten.images[1][2][31][31].item<int>(), 200);
  testing::write_bytes(dir / "b100.bin", cifar_record(2, 77, 1), false);
  const ImageSet hundred = read_cifar_files({dir / "b100.bin"}, 2, 100);
  EXPECT_EQ(hundred.labels[0].item<int64_t>(), 77);  // the fine label, not the coarse one
}

TEST(Cifar, RefusesTruncatedFilesAndBadLabels) {
  TempDir dir;
  testing::write_bytes(dir / "cut.bin", cifar_record(1, 3, 9).substr(0, 3000), false);
  const std::string msg = error_of([&] { read_cifar_files({dir / "cut.bin"}, 1, 10); });
  EXPECT_NE(msg.find("cut.bin"), std::string::npos) << msg;
  EXPECT_NE(msg.find("3073"), std::string::npos) << msg;
  testing::write_bytes(dir / "label.bin", cifar_record(1, 11, 0), false);
  EXPECT_THROW(read_cifar_files({dir / "label.bin"}, 1, 10), DataError);
  EXPECT_THROW(read_cifar_files({dir / "missing.bin"}, 1, 10), DataError);
}

TEST(Datasets, LoadsMnistLayoutWithDisjointValidationSplit) {
  TempDir dir;
  testing::write_synthetic_mnist(dir.path(), 300, 50);
  const Dataset data = load_dataset(DataOptions("mnist").data_dir(dir.path()).val_size(40));
  EXPECT_EQ(data.train.size(), 260);
  EXPECT_EQ(data.val.size(), 40);
  EXPECT_EQ(data.test.size(), 50);
  EXPECT_EQ(data.info.classes, 10);
  // Train and val partition the training file: their pixel rows together are all of it.
  const torch::Tensor all = torch::cat({data.train.images, data.val.images}).flatten(1);
  const ImageSet file = read_idx_split(dir.path(), "train", 10);
  EXPECT_EQ(std::get<0>(torch::unique_dim(all, 0)).size(0),
            std::get<0>(torch::unique_dim(file.images.flatten(1), 0)).size(0));
  // The split does not depend on anything but the file and val_size.
  const Dataset again = load_dataset(DataOptions("mnist").data_dir(dir.path()).val_size(40));
  EXPECT_TRUE(again.val.labels.equal(data.val.labels));
  EXPECT_EQ(again.train.fingerprint(), data.train.fingerprint());
  EXPECT_NE(data.train.fingerprint(), data.test.fingerprint());
}

// Holding the pixels once: a training file moved in is compacted in its own storage, and the
// split is the one a copy gives; one still shared is copied, and the sharer's pixels stay as they
// were.
TEST(Datasets, HoldOutCompactsAMovedSetAndCopiesASharedOne) {
  const ImageSet file = testing::make_synthetic(500, 10, 3, 8, 4);
  const ImageSet kept{file.images.clone(), file.labels.clone()};
  const auto [copied_train, copied_val] = hold_out(file, 60);  // shared with `file`: copied
  EXPECT_TRUE(file.images.equal(kept.images));
  ImageSet moved{file.images.clone(), file.labels.clone()};
  const void* storage = moved.images.data_ptr();
  const auto [train, val] = hold_out(std::move(moved), 60);
  EXPECT_EQ(train.images.data_ptr(), storage);  // the same memory, not a copy
  EXPECT_EQ(train.size(), 440);
  EXPECT_TRUE(train.images.equal(copied_train.images));
  EXPECT_TRUE(train.labels.equal(copied_train.labels));
  EXPECT_TRUE(val.images.equal(copied_val.images));
  EXPECT_TRUE(val.labels.equal(copied_val.labels));
}

TEST(Datasets, ClassesWithoutATrainingExampleAreNamed) {
  Dataset data;
  data.info.classes = 9;
  data.info.class_names = {"a", "b", "c", "d", "e", "f", "g", "h", "i"};
  data.train.labels = torch::tensor({0, 1, 1, 8}, torch::kInt64);
  EXPECT_EQ(empty_classes_note(data),
            "no training example of 6 of the 9 classes (c, d, e, f, g, ...); the model will never "
            "predict them");  // named classes: no guess about a stray label
  data.info.classes = 12;
  data.info.class_names.clear();
  for (int c = 0; c < 12; ++c) data.info.class_names.push_back("class " + std::to_string(c));
  data.train.labels = torch::tensor({0, 1, 2, 3, 4, 5, 6, 7, 8, 11}, torch::kInt64);
  EXPECT_EQ(empty_classes_note(data),
            "no training example of 2 of the 12 classes (class 9, class 10); the model will never "
            "predict them. Without class_names the classes are the largest label + 1: a stray "
            "label?");
  data.info.classes = 2;
  data.info.class_names = {"a", "b"};
  data.train.labels = torch::tensor({0, 1, 1}, torch::kInt64);
  EXPECT_EQ(empty_classes_note(data), "");
}

TEST(Datasets, RefusesBadNamesDirectoriesAndSizes) {
  TempDir dir;
  EXPECT_THROW(dataset_info("imagenet"), ConfigError);
  const std::string msg =
      error_of([&] { load_dataset(DataOptions("mnist").data_dir(dir / "absent")); });
  EXPECT_NE(msg.find("absent"), std::string::npos) << msg;
  testing::write_synthetic_mnist(dir.path(), 100, 10);
  EXPECT_THROW(load_dataset(DataOptions("mnist").data_dir(dir.path()).val_size(100)), ConfigError);
  EXPECT_THROW(load_dataset(DataOptions("cifar10").data_dir(dir.path())), DataError);
}

}  // namespace
}  // namespace kd
