// Deterministic augmentation. The draw for example i in stream s (a training epoch, or a cached
// view) depends only on (seed, s, i), so any later stage can replay exactly what a teacher saw.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>

#include "lib/data/image_set.h"

namespace kd {

enum class Augment { none, shift, shift_flip };

/// "none", "shift" or "shift-flip"; ConfigError otherwise.
Augment parse_augment(const std::string& name);
std::string to_string(Augment augment);

/// The largest shift, in pixels, along each axis.
constexpr int kMaxShift = 2;

struct AugmentDraw {
  int dx = 0;         ///< horizontal shift in [-kMaxShift, kMaxShift]
  int dy = 0;         ///< vertical shift
  bool flip = false;  ///< mirror left-right (applied before the shift)
};

/// The augmentation of example `index` in stream `stream` (the epoch, or the view).
AugmentDraw draw_augmentation(Augment augment, std::uint64_t seed, std::uint64_t stream,
                              std::uint64_t index);

/// Builds a float batch [B, C, H, W] from uint8 images: example `rows[b]` of `set`, augmented
/// with the draw for (seed, stream, ids[b]) and normalised per channel. Pixels shifted in from
/// outside the image are zero before normalisation. `ids` defaults to `rows`: pass the example's
/// id in its dataset when `set` is itself a subset.
///
/// A feature array's batch is [B, ...info.features]: the examples as stored (standardised per
/// value when info.standardize). Any augmentation but none adds Gaussian noise instead, of
/// info.noise times each value's standard deviation, drawn from (seed, stream, ids[b]): the same
/// noise for the same example in the same stream, wherever it is drawn.
torch::Tensor make_batch(const ImageSet& set, const DatasetInfo& info, const torch::Tensor& rows,
                         Augment augment, std::uint64_t seed, std::uint64_t stream,
                         const torch::Tensor& ids = {});

}  // namespace kd
