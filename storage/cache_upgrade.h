// Format-1 caches (kdpipe before 0.3) made format 2 without recomputing a single logit: their
// fingerprints are verified with the old hash and rewritten with the new one, and their
// /probs/T=<t> datasets take the names format 2 gives them.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "lib/data/image_set.h"
#include "storage/cache_header.h"

namespace kd {

struct CacheUpgrade {
  bool upgraded = false;  ///< false: the cache was format 2 already, and is untouched
  std::string fingerprint_before, fingerprint_after;
  std::string teacher_hash_before, teacher_hash_after;
  std::vector<std::pair<std::string, std::string>> renamed;  ///< /probs datasets, old → new name
};

/// Upgrades the cache at `path` to format 2. `split` must be the examples the cache was made of
/// (its old dataset fingerprint is checked against them) and `teacher` the teacher's file (a
/// kdpipe model.pt or TorchScript file, its old hash checked). StorageError naming what differs
/// otherwise, and the cache is left as it was. The cache is rewritten through a copy renamed over
/// it only when the copy is complete (it needs the cache's size in free space once).
CacheUpgrade upgrade_cache(const std::filesystem::path& path, const ImageSet& split,
                           const std::filesystem::path& teacher);

/// A cache's header, of format 1 or 2 (read in a child first, as every cache is).
CacheHeader read_cache_header(const std::filesystem::path& path);

/// The name kdpipe before 0.3 gave the probabilities at temperature t (six significant digits).
std::string format_1_probs_path(double t);

}  // namespace kd
