#include "lib/data/augment.h"

#include <gtest/gtest.h>

#include <chrono>
#include <iostream>
#include <set>

#include "lib/core/error.h"

namespace kd {
namespace {

DatasetInfo unit_info(int64_t channels) {
  DatasetInfo info;
  info.channels = channels;
  info.mean.assign(static_cast<std::size_t>(channels), 0.0f);
  info.std.assign(static_cast<std::size_t>(channels), 1.0f / 255.0f);  // pixels pass unchanged
  return info;
}

ImageSet ramp(int64_t n, int64_t size) {
  torch::Tensor img = (torch::arange(size * size, torch::kInt64) + 1).reshape({1, 1, size, size});
  return {img.repeat({n, 1, 1, 1}).to(torch::kUInt8), torch::zeros({n}, torch::kInt64)};
}

TEST(Augment, DrawDependsOnlyOnSeedStreamAndIndex) {
  for (uint64_t i = 0; i < 50; ++i) {
    const AugmentDraw a = draw_augmentation(Augment::shift_flip, 7, 3, i);
    const AugmentDraw b = draw_augmentation(Augment::shift_flip, 7, 3, i);
    EXPECT_EQ(a.dx, b.dx);
    EXPECT_EQ(a.dy, b.dy);
    EXPECT_EQ(a.flip, b.flip);
  }
  int differs = 0;
  for (uint64_t i = 0; i < 50; ++i) {
    const AugmentDraw a = draw_augmentation(Augment::shift_flip, 7, 3, i);
    const AugmentDraw b = draw_augmentation(Augment::shift_flip, 7, 4, i);
    differs += a.dx != b.dx || a.dy != b.dy || a.flip != b.flip;
  }
  EXPECT_GT(differs, 30);
}

TEST(Augment, CoversEveryShiftAndBothFlipsWithinRange) {
  std::set<std::pair<int, int>> shifts;
  int flips = 0;
  for (uint64_t i = 0; i < 2000; ++i) {
    const AugmentDraw d = draw_augmentation(Augment::shift_flip, 1, 0, i);
    ASSERT_LE(std::abs(d.dx), kMaxShift);
    ASSERT_LE(std::abs(d.dy), kMaxShift);
    shifts.insert({d.dx, d.dy});
    flips += d.flip;
  }
  EXPECT_EQ(shifts.size(), 25u);
  EXPECT_GT(flips, 900);
  EXPECT_LT(flips, 1100);
  EXPECT_FALSE(draw_augmentation(Augment::shift, 1, 0, 5).flip);
  const AugmentDraw none = draw_augmentation(Augment::none, 1, 0, 5);
  EXPECT_EQ(none.dx, 0);
  EXPECT_EQ(none.dy, 0);
}

TEST(Augment, BatchShiftsWithZeroPaddingAndFlips) {
  const int64_t size = 6;
  const ImageSet set = ramp(40, size);
  const DatasetInfo info = unit_info(1);
  const torch::Tensor rows = torch::arange(40, torch::kInt64);
  const torch::Tensor batch = make_batch(set, info, rows, Augment::shift_flip, 11, 2);
  const torch::Tensor original = set.images[0][0].to(torch::kFloat32);
  for (int64_t b = 0; b < 40; ++b) {
    const AugmentDraw d = draw_augmentation(Augment::shift_flip, 11, 2, static_cast<uint64_t>(b));
    for (int64_t y = 0; y < size; ++y) {
      for (int64_t x = 0; x < size; ++x) {
        int64_t sx = x - d.dx;
        if (d.flip) sx = size - 1 - sx;
        const int64_t sy = y - d.dy;
        const bool inside = sy >= 0 && sy < size && sx >= 0 && sx < size;
        const float want = inside ? original[sy][sx].item<float>() : 0.0f;
        ASSERT_FLOAT_EQ(batch[b][0][y][x].item<float>(), want) << "example " << b;
      }
    }
  }
}

TEST(Augment, NoneNormalisesPerChannel) {
  DatasetInfo info;
  info.channels = 3;
  info.mean = {0.5f, 0.25f, 0.0f};
  info.std = {0.5f, 0.25f, 1.0f};
  const ImageSet set{torch::full({2, 3, 4, 4}, 255, torch::kUInt8),
                     torch::zeros({2}, torch::kInt64)};
  const torch::Tensor batch = make_batch(set, info, torch::tensor({1, 0}), Augment::none, 0, 0);
  EXPECT_FLOAT_EQ(batch[0][0][1][1].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(batch[0][1][1][1].item<float>(), 3.0f);
  EXPECT_FLOAT_EQ(batch[1][2][3][3].item<float>(), 1.0f);
}

TEST(Augment, IdsDecoupleTheDrawFromTheRowInASubset) {
  const ImageSet set = ramp(10, 6);
  const DatasetInfo info = unit_info(1);
  // Row 0 of a one-example subset that was example 7 of the full set gets example 7's draw.
  const torch::Tensor full = make_batch(set, info, torch::tensor({7}), Augment::shift_flip, 3, 1);
  const torch::Tensor sub = make_batch(set.select(torch::tensor({7})), info, torch::tensor({0}),
                                       Augment::shift_flip, 3, 1, torch::tensor({7}));
  EXPECT_TRUE(full.equal(sub));
}

// Rows as an array file stores them, [H, W, C], seen as [N, C, H, W]: read in place, the same
// batch as from the same images laid out [N, C, H, W].
TEST(Augment, ChannelsLastRowsMakeTheSameBatch) {
  torch::manual_seed(4);
  const torch::Tensor hwc = torch::randint(0, 256, {20, 9, 7, 3}, torch::kUInt8);
  const ImageSet stored{hwc.permute({0, 3, 1, 2}), torch::zeros({20}, torch::kInt64)};
  const ImageSet planar{stored.images.contiguous(), stored.labels};
  ASSERT_FALSE(stored.images.is_contiguous());
  DatasetInfo info = unit_info(3);
  info.mean = {0.2f, 0.5f, 0.7f};
  info.std = {0.3f, 0.25f, 0.2f};
  const torch::Tensor rows = torch::tensor({19, 3, 3, 0, 11}, torch::kInt64);
  for (const Augment a : {Augment::none, Augment::shift, Augment::shift_flip})
    EXPECT_TRUE(torch::equal(make_batch(stored, info, rows, a, 5, 1),
                             make_batch(planar, info, rows, a, 5, 1)))
        << to_string(a);
}

TEST(Augment, ParsesNames) {
  EXPECT_EQ(parse_augment("shift-flip"), Augment::shift_flip);
  EXPECT_EQ(to_string(parse_augment("shift")), "shift");
  EXPECT_THROW(parse_augment("rotate"), ConfigError);
}

}  // namespace
}  // namespace kd
namespace kd { namespace {
TEST(AugmentTiming, ChannelsLastVsPlanar) {
  const torch::Tensor hwc = torch::randint(0, 256, {8192, 96, 96, 3}, torch::kUInt8);
  const ImageSet stored{hwc.permute({0, 3, 1, 2}), torch::zeros({8192}, torch::kInt64)};
  const ImageSet planar{stored.images.contiguous(), stored.labels};
  DatasetInfo info = unit_info(3);
  for (int rep = 0; rep < 2; ++rep)
  for (const ImageSet* s : {&stored, &planar}) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 32; ++i) {
      const torch::Tensor rows = torch::randperm(8192).slice(0, 0, 256);
      make_batch(*s, info, rows, Augment::none, 1, 1);
    }
    const auto t1 = std::chrono::steady_clock::now();
    std::cout << (s == &stored ? "channels-last " : "planar ") << std::chrono::duration<double>(t1 - t0).count() / 32 * 1000 << " ms/batch\n";
  }
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 32; ++i) { torch::Tensor c = stored.images.narrow(0, i*256, 256).contiguous(); }
  const auto t1 = std::chrono::steady_clock::now();
  std::cout << "permute copy " << std::chrono::duration<double>(t1 - t0).count() / 32 * 1000 << " ms/batch\n";
}
}}
