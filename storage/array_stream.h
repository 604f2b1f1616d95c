// An array file's images read while a model trains (lib/data/example_stream.h): a window of
// chunks at a time, read ahead by one I/O thread (this HDF5 is thread-safe, so its calls hold one
// global lock: more readers would wait on each other), with memory bounded by the caller.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "lib/data/example_stream.h"

namespace kd {

/// /<split>/images' examples at file rows `rows` (increasing; empty: every example). `memory`
/// bytes may hold windows read ahead (0: reading ahead is not needed, e.g. a split read once);
/// ConfigError when two windows do not fit in it. DataError for a file that is not an image
/// array file.
std::shared_ptr<ExampleStream> open_array_stream(const std::filesystem::path& path,
                                                 const std::string& split,
                                                 std::vector<int64_t> rows, int64_t memory);

}  // namespace kd
