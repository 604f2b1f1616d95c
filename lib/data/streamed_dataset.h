// load_dataset's path for a training split read as it trains (DataOptions::stream).
#pragma once

#include <optional>

#include "lib/data/datasets.h"

namespace kd {

/// Whether load_dataset streams the training split of `options`, described as `info`: an image
/// array file taken as stored, of the chunked order, by a caller that can train from a stream.
bool streams(const DataOptions& options, const DatasetInfo& info);

/// The dataset with its training split left in the file (Dataset::stream): validation and test
/// splits read; the normalisation and the training split's fingerprint measured in one pass over
/// the training file. Nothing when all of the file fits in --memory with room to spare (then it
/// is held: the same order, the same results). ConfigError when --memory cannot hold the
/// validation and test splits and two windows of the training split.
std::optional<Dataset> load_streamed_dataset(const DataOptions& options, DatasetInfo info);

}  // namespace kd
