#include "storage/cache_upgrade.h"

#include <sstream>

#include "lib/core/error.h"
#include "lib/core/files.h"
#include "lib/core/hash.h"
#include "storage/cache_header_h5.h"
#include "storage/logit_cache.h"

namespace kd {

namespace fs = std::filesystem;

std::string format_1_probs_path(double t) {
  std::ostringstream out;
  out << "/probs/T=" << t;
  return out.str();
}

namespace {

// What the upgrade checks before it writes anything: the data and teacher are those the cache
// was made from, as the old hash says.
CacheUpgrade verified(const fs::path& path, const CacheHeader& h, const ImageSet& split,
                      const fs::path& teacher) {
  CacheUpgrade u;
  u.fingerprint_before = h.dataset_fingerprint;
  check<StorageError>(split.size() == h.n, path.string(), ": made of ", h.n, " examples of ",
                      h.dataset, " ", h.split, "; the data given has ", split.size(),
                      " (give the data options it was made with: --dataset, --data-dir, "
                      "--val-size, --image-size, --channels)");
  const std::string old_fingerprint = split.legacy_fingerprint();  // the whole split: once
  check<StorageError>(old_fingerprint == h.dataset_fingerprint, path.string(),
                      ": made from other data than that given (its fingerprint ",
                      h.dataset_fingerprint, ", the data's ", old_fingerprint,
                      "; give the data options it was made with)");
  u.fingerprint_after = split.fingerprint();
  u.teacher_hash_before = h.teacher_checkpoint_hash;
  check_readable_file(teacher, "--teacher");
  const std::string old_hash = legacy_hash_file(teacher);
  check<StorageError>(old_hash == h.teacher_checkpoint_hash, path.string(),
                      ": made by another teacher than ", teacher.string(), " (its hash ",
                      h.teacher_checkpoint_hash, ", the file's ", old_hash, ")");
  u.teacher_hash_after = hash_file(teacher);
  for (double t : h.temperatures) {
    const std::string before = format_1_probs_path(t), after = CacheHeader::probs_path(t);
    if (before != after) u.renamed.emplace_back(before, after);
  }
  return u;
}

}  // namespace

CacheHeader read_cache_header(const fs::path& path) {
  const std::string problem = h5::reading_problem([&] {
    const h5::Handle file = h5::open_file(path, /*writable=*/false);
    read_header(file.get(), path, /*format_1_too=*/true);
  });
  check<StorageError>(problem.empty(), path.string(), ": ", problem);
  const h5::Handle file = h5::open_file(path, /*writable=*/false);
  return read_header(file.get(), path, /*format_1_too=*/true);
}

CacheUpgrade upgrade_cache(const fs::path& path, const ImageSet& split, const fs::path& teacher) {
  check_readable_file(path, "upgrading");
  const CacheHeader h = read_cache_header(path);
  if (h.format_version != 1) return {};  // 2, or a top-k cache (3): nothing to upgrade
  CacheUpgrade u = verified(path, h, split, teacher);
  write_atomically(path, [&](const fs::path& tmp) {
    fs::copy_file(path, tmp, fs::copy_options::overwrite_existing);
    const h5::Handle file = h5::open_file(tmp, /*writable=*/true);
    for (const auto& [before, after] : u.renamed) h5::move_link(file.get(), before, after, path);
    h5::set_attr(file.get(), "dataset_fingerprint", u.fingerprint_after, path);
    h5::set_attr(file.get(), "teacher_checkpoint_hash", u.teacher_hash_after, path);
    h5::set_attr(file.get(), "format_version", kCacheFormatVersion, path);
    h5::flush(file, path);
  });
  LogitCache{path};  // it reads as format 2 now
  u.upgraded = true;
  return u;
}

}  // namespace kd
