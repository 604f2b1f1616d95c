// Image folders (torchvision's ImageFolder layout) decoded through OpenCV: the same tensors as the
// IDX reader for the same examples, conversions, and a one-line error naming each bad input.
#include "lib/data/image_folder.h"

#include <gtest/gtest.h>

#include <fstream>

#include "lib/core/error.h"
#include "lib/data/datasets.h"
#include "lib/data/image_codec.h"
#include "tests/support/errors.h"
#include "tests/support/synthetic.h"
#include "tests/support/temp_dir.h"

namespace kd {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

using testing::error_of;

// The examples of `set` in the order an image folder lists them: by class, then by index.
ImageSet grouped_by_class(const ImageSet& set, int64_t classes) {
  std::vector<torch::Tensor> order;
  for (int64_t c = 0; c < classes; ++c) order.push_back(set.labels.eq(c).nonzero().flatten());
  return set.select(torch::cat(order));
}

class ImageFolder : public ::testing::Test {
 protected:
  void SetUp() override {
    sample_ = testing::fashion_mnist_sample(300, 100);
    testing::write_image_folder(dir_ / "fm", sample_);
  }
  DataOptions options() const { return DataOptions((dir_ / "fm").string()).val_size(0); }
  TempDir dir_;
  DatasetFiles sample_;
};

TEST_F(ImageFolder, PngsGiveTheIdxReadersTensors) {
  Progress quiet = Progress::silent();
  const DatasetFiles read = read_image_folder(dir_ / "fm", {}, quiet);
  EXPECT_EQ(read.class_names, sample_.class_names);
  for (const auto& [got, want] :
       {std::pair{&read.train, &sample_.train}, {&read.test, &sample_.test}}) {
    const ImageSet expected = grouped_by_class(*want, 10);
    ASSERT_EQ(got->images.sizes(), expected.images.sizes());
    EXPECT_TRUE(got->images.equal(expected.images));
    EXPECT_TRUE(got->labels.equal(expected.labels));
  }
}

TEST_F(ImageFolder, LoadsAsADatasetWithMeasuredNormalisation) {
  const Dataset data = load_dataset(options().val_size(50));
  EXPECT_EQ(data.info.name, "fm");
  EXPECT_EQ(data.info.classes, 10);
  EXPECT_EQ(data.info.class_names, sample_.class_names);
  EXPECT_EQ(data.info.channels, 1);
  EXPECT_EQ(data.info.height, 28);
  EXPECT_EQ(data.train.size(), 250);
  EXPECT_EQ(data.val.size(), 50);
  EXPECT_EQ(data.test.size(), 100);
  const torch::Tensor px = sample_.train.images.to(torch::kFloat64) / 255.0;
  ASSERT_EQ(data.info.mean.size(), 1u);
  EXPECT_NEAR(data.info.mean[0], px.mean().item<double>(), 1e-6);
  EXPECT_NEAR(data.info.std[0], px.std(/*unbiased=*/false).item<double>(), 1e-6);
  // describe_dataset knows shape and classes without decoding the whole folder.
  const DatasetInfo probe = describe_dataset(options());
  EXPECT_EQ(probe.classes, 10);
  EXPECT_EQ(probe.class_names, sample_.class_names);
  // The same files always give the same fingerprint.
  EXPECT_EQ(load_dataset(options().val_size(50)).train.fingerprint(), data.train.fingerprint());
}

TEST_F(ImageFolder, ConvertsSizeAndChannels) {
  const Dataset data = load_dataset(options().format({3, 32, 30}));
  EXPECT_EQ(data.train.images.sizes(), (std::vector<int64_t>{300, 3, 32, 30}));
  EXPECT_EQ(data.info.channels, 3);
  EXPECT_EQ(data.info.width, 30);
  EXPECT_EQ(data.info.mean.size(), 3u);
  // Grey replicated into RGB: the three channels are equal.
  EXPECT_TRUE(data.train.images.select(1, 0).equal(data.train.images.select(1, 2)));
  // A built-in converted the same way gets measured statistics too.
  EXPECT_EQ(parse_image_size("32x30").width, 30);
  EXPECT_EQ(parse_image_size("24").height, 24);
  EXPECT_THROW(parse_image_size("32by32"), ConfigError);
  EXPECT_THROW(parse_image_size("0x4"), ConfigError);
  EXPECT_THROW(describe_dataset(options().format({2, 0, 0})), ConfigError);
}

TEST_F(ImageFolder, ColourImagesDecodeAsRgb) {
  torch::Tensor rgb = torch::zeros({3, 4, 5}, torch::kUInt8);
  rgb[0].fill_(200), rgb[1].fill_(100), rgb[2].fill_(7);
  write_png(dir_ / "c.png", rgb);
  EXPECT_TRUE(decode_image(dir_ / "c.png").equal(rgb));
  const torch::Tensor grey = convert_image(rgb, {1, 0, 0});
  EXPECT_EQ(grey.sizes(), (std::vector<int64_t>{1, 4, 5}));
  EXPECT_NEAR(grey[0][0][0].item<int>(), 0.299 * 200 + 0.587 * 100 + 0.114 * 7, 1.0);
}

TEST_F(ImageFolder, BadInputEndsWithOneLineNamingTheFile) {
  Progress quiet = Progress::silent();
  const fs::path root = dir_ / "fm";
  // A corrupt image.
  const fs::path bad = list_image_split(root / "train").files[42];
  { std::ofstream(bad, std::ios::trunc) << "not a png"; }
  std::string e = error_of([&] { read_image_folder(root, {}, quiet); });
  EXPECT_NE(e.find(bad.string()), std::string::npos) << e;
  EXPECT_EQ(e.find('\n'), std::string::npos) << e;
  // A TIFF named .png never reaches a decoder other than PNG's and JPEG's.
  { std::ofstream(bad, std::ios::trunc) << "II*" << '\0' << "tiff data"; }
  EXPECT_EQ(error_of([&] { decode_image(bad); }), bad.string() + ": not a PNG or JPEG file");
  // An image of another size, without --image-size; with it, the folder loads.
  write_png(bad, torch::zeros({1, 20, 28}, torch::kUInt8));
  e = error_of([&] { read_image_folder(root, {}, quiet); });
  EXPECT_NE(e.find(bad.string() + ": image is 20x28"), std::string::npos) << e;
  EXPECT_NE(e.find("--image-size"), std::string::npos) << e;
  EXPECT_EQ(read_image_folder(root, {0, 28, 28}, quiet).train.size(), 300);
  fs::remove(bad);
  // An empty class folder.
  fs::create_directories(root / "train" / "5-sandal-empty");
  e = error_of([&] { read_image_folder(root, {}, quiet); });
  EXPECT_NE(e.find((root / "train" / "5-sandal-empty").string() + ": empty class folder"),
            std::string::npos)
      << e;
  fs::remove(root / "train" / "5-sandal-empty");
  // Test classes that differ from train's.
  fs::rename(root / "test" / "9-boot", root / "test" / "9-boots");
  e = error_of([&] { describe_dataset(options()); });
  EXPECT_NE(e.find("'9-boot' is missing"), std::string::npos) << e;
  fs::rename(root / "test" / "9-boots", root / "test" / "9-boot");
  // No test split at all; a path that is nothing.
  fs::rename(root / "test", root / "t");
  e = error_of([&] { describe_dataset(options()); });
  EXPECT_NE(e.find((root / "test").string() + ": no such folder"), std::string::npos) << e;
  EXPECT_THROW(describe_dataset(DataOptions((dir_ / "absent").string())), ConfigError);
}

}  // namespace
}  // namespace kd
