#include "storage/cache_merge.h"

#include <algorithm>
#include <map>

#include "lib/core/error.h"
#include "lib/core/files.h"
#include "lib/core/runtime.h"
#include "storage/logit_cache.h"

namespace kd {

namespace fs = std::filesystem;

namespace {

// The header with what differs between the shards of one cache cleared.
CacheHeader without_shard(CacheHeader h) {
  h.shard_index = 0;
  h.shard_count = 0;
  h.first_example = 0;
  h.n = 0;
  return h;
}

std::string shard_name(const CacheHeader& h) {
  return "shard " + std::to_string(h.shard_index) + "/" + std::to_string(h.shard_count);
}

// Checks the shards make one whole cache; returns them in order.
std::vector<LogitCache> in_order(const std::vector<fs::path>& paths) {
  check<ConfigError>(!paths.empty(), "cache-merge: give the shard files to merge");
  std::map<int64_t, LogitCache> by_index;
  const LogitCache* model = nullptr;
  for (const fs::path& path : paths) {
    LogitCache shard(path);
    const CacheHeader h = shard.header();
    check<StorageError>(h.shard_count > 0, path.string(),
                        ": not a shard (a whole cache; kdpipe cache --shard i/n writes shards)");
    if (model) {
      const std::string differs = without_shard(h).differs_from(without_shard(model->header()));
      check<StorageError>(differs.empty(), path.string(), ": not a shard of the same cache as ",
                          model->path().string(), " (", differs, ")");
      check<StorageError>(h.shard_count == model->header().shard_count, path.string(), " is ",
                          shard_name(h), ", ", model->path().string(), " is ",
                          shard_name(model->header()));
    }
    const auto [it, fresh] = by_index.emplace(h.shard_index, std::move(shard));
    check<StorageError>(fresh, path.string(), " and ", it->second.path().string(), " are both ",
                        shard_name(h));
    if (!model) model = &it->second;
  }
  const int64_t count = by_index.begin()->second.header().shard_count;
  std::vector<LogitCache> out;
  int64_t next_example = 0;
  for (int64_t i = 0; i < count; ++i) {
    const auto it = by_index.find(i);
    check<StorageError>(it != by_index.end(), "cache-merge: shard ", i, "/", count,
                        " is missing (given: ", paths.size(), " of ", count, " shards)");
    const CacheHeader& h = it->second.header();
    check<StorageError>(h.first_example == next_example, it->second.path().string(), ": ",
                        shard_name(h), " starts at example ", h.first_example,
                        ", the shards before it end at ", next_example);
    next_example += h.n;
    out.push_back(std::move(it->second));
  }
  return out;
}

}  // namespace

MergeSummary merge_cache_shards(const std::vector<fs::path>& paths, const fs::path& out,
                                int deflate) {
  check<ConfigError>(!out.empty(), "--out: a cache file to write is required");
  for (const fs::path& shard : paths) check_not_an_input(out, shard, "--out");
  std::vector<LogitCache> shards = in_order(paths);
  CacheHeader whole = shards.front().header();
  whole.shard_index = whole.shard_count = whole.first_example = 0;
  whole.n = 0;
  for (const LogitCache& s : shards) whole.n += s.header().n;
  whole.kdpipe_version = version();
  whole.created = utc_timestamp();

  LogitCacheWriter writer(out, whole, deflate);
  MergeSummary summary;
  summary.shards = static_cast<int64_t>(shards.size());
  summary.examples = whole.n;
  summary.chunks_resumed = writer.chunks_done();
  const int64_t chunk = whole.chunk;
  for (const LogitCache& s : shards) {
    const CacheHeader& h = s.header();
    const int64_t first = h.first_example / chunk;  // shards hold whole chunks
    const int64_t count = (h.n + chunk - 1) / chunk;
    if (first + count <= writer.chunks_done()) continue;
    // A chunk at a time: memory stays one chunk's, whatever the shards hold.
    for (int64_t j = std::max<int64_t>(0, writer.chunks_done() - first); j < count; ++j) {
      const int64_t begin = j * chunk;
      writer.copy_chunk(first + j, s.read_rows(begin, std::min(h.n, begin + chunk) - begin));
    }
  }
  writer.finish();
  return summary;
}

}  // namespace kd
