#include "storage/cache_header_h5.h"

#include "lib/core/error.h"

namespace kd {

namespace fs = std::filesystem;

void write_header(hid_t root, const CacheHeader& h, const fs::path& file) {
  h5::set_attr(root, "format", h.format, file);
  h5::set_attr(root, "format_version", h.format_version, file);
  h5::set_attr(root, "teacher_source", h.teacher_source, file);
  h5::set_attr(root, "teacher_arch", h.teacher_arch, file);
  h5::set_attr(root, "teacher_smoothing", h.teacher_smoothing, file);
  h5::set_attr(root, "teacher_seed", h.teacher_seed, file);
  h5::set_attr(root, "teacher_checkpoint", h.teacher_checkpoint, file);
  h5::set_attr(root, "teacher_checkpoint_hash", h.teacher_checkpoint_hash, file);
  h5::set_attr(root, "dataset", h.dataset, file);
  h5::set_attr(root, "split", h.split, file);
  h5::set_attr(root, "dataset_fingerprint", h.dataset_fingerprint, file);
  h5::set_attr(root, "class_names", h.class_names, file);
  h5::set_attr(root, "N", h.n, file);
  h5::set_attr(root, "C", h.c, file);
  h5::set_attr(root, "V", h.v, file);
  h5::set_attr(root, "temperatures", h.temperatures, file);
  h5::set_attr(root, "augment", h.augment, file);
  h5::set_attr(root, "augment_seed", h.augment_seed, file);
  h5::set_attr(root, "input", h.input, file);
  if (h.feature_noise >= 0) {
    h5::set_attr(root, "standardize", int64_t{h.standardize ? 1 : 0}, file);
    h5::set_attr(root, "feature_noise", h.feature_noise, file);
  }
  h5::set_attr(root, "dtype", h.dtype, file);
  if (h.top_k > 0) {
    h5::set_attr(root, "top_k", h.top_k, file);
    h5::set_attr(root, "top_k_rule", to_string(h.top_k_rule), file);
  }
  h5::set_attr(root, "chunk", h.chunk, file);
  h5::set_attr(root, "kdpipe_version", h.kdpipe_version, file);
  h5::set_attr(root, "created", h.created, file);
  if (h.shard_count > 0) {
    h5::set_attr(root, "shard_index", h.shard_index, file);
    h5::set_attr(root, "shard_count", h.shard_count, file);
    h5::set_attr(root, "first_example", h.first_example, file);
  }
}

CacheHeader read_header(hid_t root, const fs::path& file, bool format_1_too) {
  CacheHeader h;
  h.format = h5::has_attr(root, "format") ? h5::get_string(root, "format", file) : "(none)";
  check<StorageError>(h.format == kCacheFormat, file.string(), ": field 'format' is '", h.format,
                      "', expected '", kCacheFormat, "' (not a kdpipe logit cache)");
  h.format_version = h5::get_int(root, "format_version", file);
  h.teacher_source = h5::get_string(root, "teacher_source", file);
  h.teacher_arch = h5::get_string(root, "teacher_arch", file);
  h.teacher_smoothing = h5::get_double(root, "teacher_smoothing", file);
  h.teacher_seed = h5::get_int(root, "teacher_seed", file);
  h.teacher_checkpoint = h5::get_string(root, "teacher_checkpoint", file);
  h.teacher_checkpoint_hash = h5::get_string(root, "teacher_checkpoint_hash", file);
  h.dataset = h5::get_string(root, "dataset", file);
  h.split = h5::get_string(root, "split", file);
  h.dataset_fingerprint = h5::get_string(root, "dataset_fingerprint", file);
  // Added after the first caches were written; they stay readable without it.
  if (h5::has_attr(root, "class_names")) h.class_names = h5::get_strings(root, "class_names", file);
  h.n = h5::get_int(root, "N", file);
  h.c = h5::get_int(root, "C", file);
  h.v = h5::get_int(root, "V", file);
  h.temperatures = h5::get_doubles(root, "temperatures", file);
  h.augment = h5::get_string(root, "augment", file);
  h.augment_seed = h5::get_int(root, "augment_seed", file);
  h.input = h5::get_string(root, "input", file);
  if (h5::has_attr(root, "feature_noise")) {  // a feature array's cache
    h.standardize = h5::get_int(root, "standardize", file) != 0;
    h.feature_noise = h5::get_double(root, "feature_noise", file);
  }
  h.dtype = h5::get_string(root, "dtype", file);
  if (h5::has_attr(root, "top_k")) {
    h.top_k = h5::get_int(root, "top_k", file);
    const std::string rule = h5::get_string(root, "top_k_rule", file);
    check<StorageError>(rule == "uniform" || rule == "renormalise", file.string(),
                        ": field 'top_k_rule' is '", rule, "', expected uniform or renormalise");
    h.top_k_rule = parse_top_k_rule(rule);
  }
  h.chunk = h5::get_int(root, "chunk", file);
  h.kdpipe_version = h5::get_string(root, "kdpipe_version", file);
  h.created = h5::get_string(root, "created", file);
  if (h5::has_attr(root, "shard_count")) {
    h.shard_index = h5::get_int(root, "shard_index", file);
    h.shard_count = h5::get_int(root, "shard_count", file);
    h.first_example = h5::get_int(root, "first_example", file);
    check<StorageError>(h.shard_count > 0 && h.shard_index >= 0 && h.shard_index < h.shard_count &&
                            h.first_example >= 0,
                        file.string(), ": field 'shard_index' is ", h.shard_index,
                        " of 'shard_count' ", h.shard_count, " (a damaged shard header)");
  }
  // The version last, once every field has been read: the attributes of format 1 are those of
  // format 2, and a damaged header is named as damage, whatever its version says.
  check<StorageError>(h.format_version != 1 || format_1_too, file.string(),
                      ": field 'format_version' is 1: a cache made by kdpipe before 0.3, whose "
                      "fingerprints used a weaker hash; this kdpipe reads version ",
                      kCacheFormatVersion,
                      " (upgrade it with kdpipe inspect --upgrade, or make it again with kdpipe "
                      "cache; in a study, kdpipe run does)");
  check<StorageError>(h.format_version == kCacheFormatVersion ||
                          h.format_version == kTopKFormatVersion ||
                          (format_1_too && h.format_version == 1),
                      file.string(), ": field 'format_version' is ", h.format_version,
                      ", this kdpipe reads versions ", kCacheFormatVersion, " and ",
                      kTopKFormatVersion, " (top-k)");
  // A top-k cache is version 3 and says K; nothing else is.
  check<StorageError>(h.format_version != kTopKFormatVersion || h5::has_attr(root, "top_k"),
                      file.string(), ": a cache of format version ", kTopKFormatVersion,
                      " (top-k) without the field 'top_k' (a damaged header)");
  check<StorageError>((h.format_version == kTopKFormatVersion) == (h.top_k > 0), file.string(),
                      ": field 'top_k' is ", h.top_k, " in a cache of format version ",
                      h.format_version, " (a damaged header)");
  check<StorageError>(h.top_k <= h.c, file.string(), ": field 'top_k' is ", h.top_k,
                      ", more than C = ", h.c, " classes (a damaged header)");
  check<StorageError>(h.top_k <= 0 || h.dtype == "float16", file.string(), ": field 'dtype' is ",
                      h.dtype, ", a top-k cache keeps float16 values (a damaged header)");
  return h;
}

}  // namespace kd
