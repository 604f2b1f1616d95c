// Joining the shards of one cache (kdpipe cache --shard i/n) into a whole cache. A copy, not an
// HDF5 virtual dataset over the shard files: the merged file stands alone (shards can be deleted or
// stay on the nodes that wrote them), keeps its per-chunk checksums, and every reader treats it
// as the unsharded cache it equals, value for value.
#pragma once

#include <filesystem>
#include <vector>

namespace kd {

struct MergeSummary {
  int64_t shards = 0;
  int64_t examples = 0;
  int64_t chunks_resumed = 0;  ///< chunks found merged by an interrupted run
};

/// Writes `out` from `shards` (any order) through `<out>.partial`, resuming an interrupted merge.
/// StorageError naming the file for a shard that is missing, given twice, not a shard, of another
/// cache (another teacher, data or layout) or not adjacent to the one before it.
MergeSummary merge_cache_shards(const std::vector<std::filesystem::path>& shards,
                                const std::filesystem::path& out, int deflate = 0);

}  // namespace kd
