// load_dataset's path for a training split read as it trains (DataOptions::stream).
#pragma once

#include <optional>
#include <string>

#include "lib/core/memory_limit.h"
#include "lib/data/datasets.h"

namespace kd {

/// The memory the data of `options` may take: --memory as given, else data_memory()
/// (lib/core/memory_limit.h).
MemoryLimit data_memory_of(const DataOptions& options);

/// Whether load_dataset streams the training split of `options`, described as `info`: an image
/// array file taken as stored, of the chunked order, by a caller that can train from a stream.
bool streams(const DataOptions& options, const DatasetInfo& info);

/// The dataset with its training split left in the file (Dataset::stream): validation and test
/// splits read; the normalisation and the training split's fingerprint measured in one pass over
/// the training file. Nothing when all of the file fits in --memory with room to spare (then it
/// is held: the same order, the same results). ConfigError when --memory cannot hold the
/// validation and test splits and two windows of the training split.
std::optional<Dataset> load_streamed_dataset(const DataOptions& options, DatasetInfo info);

/// A line for the log when `data`, loaded with DataOptions::stream, is held in memory although its
/// splits take more than --memory, saying why they are held (a training split of 256 MB or less,
/// feature arrays, converted images, a built-in dataset or an image folder); "" otherwise.
std::string held_memory_note(const DataOptions& options, const Dataset& data);

/// "training order: chunks of 256 …; read from the file as it trains" (or "held in memory") when
/// the training split is visited in a chunked order; "" for a whole-split permutation.
std::string training_order_note(const Dataset& data);

}  // namespace kd
