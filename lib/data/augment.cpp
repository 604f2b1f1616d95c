#include "lib/data/augment.h"

#include <algorithm>
#include <cmath>

#include "lib/core/error.h"
#include "lib/core/hash.h"

namespace kd {

Augment parse_augment(const std::string& name) {
  if (name == "none") return Augment::none;
  if (name == "shift") return Augment::shift;
  if (name == "shift-flip") return Augment::shift_flip;
  throw ConfigError("--augment: expected none, shift or shift-flip, got '" + name + "'");
}

std::string to_string(Augment augment) {
  switch (augment) {
    case Augment::none:
      return "none";
    case Augment::shift:
      return "shift";
    case Augment::shift_flip:
      return "shift-flip";
  }
  return "none";
}

AugmentDraw draw_augmentation(Augment augment, std::uint64_t seed, std::uint64_t stream,
                              std::uint64_t index) {
  AugmentDraw d;
  if (augment == Augment::none) return d;
  const std::uint64_t r = counter_random(seed, stream, index);
  constexpr std::uint64_t span = 2 * kMaxShift + 1;
  d.dx = static_cast<int>(r % span) - kMaxShift;
  d.dy = static_cast<int>((r / span) % span) - kMaxShift;
  if (augment == Augment::shift_flip) d.flip = ((r >> 40) & 1) != 0;
  return d;
}

namespace {

constexpr int64_t kPrefetchAhead = 4;

// A feature array's batch: the examples as they are (or standardised), plus, when augmented,
// Gaussian noise of info.noise standard deviations of each value, drawn from (seed, stream, id).
torch::Tensor feature_batch(const ImageSet& set, const DatasetInfo& info, const torch::Tensor& rows,
                            Augment augment, std::uint64_t seed, std::uint64_t stream,
                            const torch::Tensor& ids) {
  const torch::Tensor row_index = rows.to(torch::kInt64).contiguous();
  const torch::Tensor id_index = ids.defined() ? ids.to(torch::kInt64).contiguous() : row_index;
  const int64_t B = row_index.numel();
  const torch::Tensor flat = set.images.reshape({set.images.size(0), -1});
  const int64_t F = flat.size(1);
  TORCH_INTERNAL_ASSERT(static_cast<int64_t>(info.std.size()) == F, "statistics per value");
  torch::Tensor out = flat.index_select(0, row_index).to(torch::kFloat32).contiguous();
  float* x = out.data_ptr<float>();
  const int64_t* id = id_index.data_ptr<int64_t>();
  const bool noisy = augment != Augment::none && info.noise > 0;
  at::parallel_for(0, B, 16, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      float* row = x + b * F;
      for (int64_t f = 0; f < F; ++f) {
        const auto k = static_cast<std::uint64_t>(id[b]) * static_cast<std::uint64_t>(F) +
                       static_cast<std::uint64_t>(f);
        if (noisy)
          row[f] += static_cast<float>(info.noise) * info.std[f] *
                    static_cast<float>(counter_normal(seed, stream, k));
        if (info.standardize) row[f] = (row[f] - info.mean[f]) / info.std[f];
      }
    }
  });
  std::vector<int64_t> shape{B};
  shape.insert(shape.end(), info.features.begin(), info.features.end());
  return out.view(shape);
}

}  // namespace

torch::Tensor make_batch(const ImageSet& set, const DatasetInfo& info, const torch::Tensor& rows,
                         Augment augment, std::uint64_t seed, std::uint64_t stream,
                         const torch::Tensor& ids) {
  if (info.is_features()) return feature_batch(set, info, rows, augment, seed, stream, ids);
  // Read in place through the strides, whatever the layout: a streamed split's rows are
  // [H, W, C] as the file stores them, seen as [N, C, H, W] (channels last); a held one is
  // [N, C, H, W] itself. No copy to [N, C, H, W] first: one pass over the bytes, not two.
  const torch::Tensor& images = set.images;
  const int64_t C = images.size(1), H = images.size(2), W = images.size(3);
  const int64_t sn = images.stride(0), sc = images.stride(1), sh = images.stride(2),
                sw = images.stride(3);
  TORCH_INTERNAL_ASSERT(static_cast<int64_t>(info.mean.size()) == C, "normalisation per channel");
  const torch::Tensor row_index = rows.to(torch::kInt64).contiguous();
  const torch::Tensor id_index = ids.defined() ? ids.to(torch::kInt64).contiguous() : row_index;
  const int64_t B = row_index.numel();
  torch::Tensor out = torch::empty({B, C, H, W}, torch::kFloat32);
  const uint8_t* src = images.data_ptr<uint8_t>();
  const int64_t* row = row_index.data_ptr<int64_t>();
  const int64_t* id = id_index.data_ptr<int64_t>();
  float* dst = out.data_ptr<float>();
  const int64_t plane = H * W;
  std::vector<float> scales(static_cast<std::size_t>(C)), shifts(scales.size());
  for (std::size_t c = 0; c < scales.size(); ++c) {
    scales[c] = 1.0f / (255.0f * info.std[c]);
    shifts[c] = -info.mean[c] / info.std[c];  // value of a zero pixel
  }

  at::parallel_for(0, B, 16, [&](int64_t begin, int64_t end) {
    // Rows come in random order: images are requested a few ahead of the one being copied, or
    // each would cost a round trip to memory.
    const auto prefetch = [&](int64_t b) {
      const uint8_t* image = src + row[b] * sn;
      for (int64_t at = 0; at < C * plane; at += 64) __builtin_prefetch(image + at);
    };
    for (int64_t b = begin; b < std::min(end, begin + kPrefetchAhead); ++b) prefetch(b);
    for (int64_t b = begin; b < end; ++b) {
      if (b + kPrefetchAhead < end) prefetch(b + kPrefetchAhead);
      const AugmentDraw d = draw_augmentation(augment, seed, stream, static_cast<uint64_t>(id[b]));
      for (int64_t c = 0; c < C; ++c) {
        const float scale = scales[c], shift = shifts[c];
        const uint8_t* in = src + row[b] * sn + c * sc;
        float* o = dst + (b * C + c) * plane;
        // Output x reads source column x - dx (mirrored when flipped); columns [x0, x1) exist.
        const int64_t x0 = std::max<int64_t>(0, d.dx), x1 = std::min<int64_t>(W, W + d.dx);
        for (int64_t y = 0; y < H; ++y) {
          const int64_t sy = y - d.dy;
          float* line = o + y * W;
          if (sy < 0 || sy >= H || x0 >= x1) {
            std::fill(line, line + W, shift);
            continue;
          }
          std::fill(line, line + x0, shift);
          std::fill(line + x1, line + W, shift);
          const uint8_t* source = in + sy * sh;
          if (sw == 1) {  // one loop each, so the compiler vectorises the common layout
            if (d.flip) {
              for (int64_t x = x0; x < x1; ++x) line[x] = source[W - 1 - x + d.dx] * scale + shift;
            } else {
              for (int64_t x = x0; x < x1; ++x) line[x] = source[x - d.dx] * scale + shift;
            }
          } else if (d.flip) {
            for (int64_t x = x0; x < x1; ++x)
              line[x] = source[(W - 1 - x + d.dx) * sw] * scale + shift;
          } else {
            for (int64_t x = x0; x < x1; ++x) line[x] = source[(x - d.dx) * sw] * scale + shift;
          }
        }
      }
    }
  });
  return out;
}

}  // namespace kd
