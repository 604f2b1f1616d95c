#include "storage/cache_header.h"

#include <sstream>

#include "lib/core/error.h"
#include "lib/core/number_text.h"

namespace kd {

TopKRule parse_top_k_rule(const std::string& text) {
  if (text == "uniform") return TopKRule::uniform;
  if (text == "renormalise") return TopKRule::renormalise;
  throw ConfigError("--top-k-rule: expected uniform or renormalise, got '" + text + "'");
}

std::string to_string(TopKRule rule) {
  return rule == TopKRule::uniform ? "uniform" : "renormalise";
}

// The shortest text that reads back as t: 2.0000001 and 2.0000002 are two datasets, and the
// usual temperatures keep the names of earlier caches (T=1, T=2.5, T=4).
std::string CacheHeader::probs_path(double t) { return "/probs/T=" + exact_text(t); }

namespace {
template <typename T>
std::string show(const T& v) {
  std::ostringstream out;
  out << v;
  return out.str();
}
std::string show(const std::vector<double>& v) {
  std::ostringstream out;
  for (std::size_t i = 0; i < v.size(); ++i) out << (i ? " " : "") << v[i];
  return out.str();
}
}  // namespace

std::string CacheHeader::differs_from(const CacheHeader& o) const {
#define KD_NAMED(f, name) \
  if (f != o.f) return std::string(name ": ") + show(f) + " vs " + show(o.f);
#define KD_FIELD(f) KD_NAMED(f, #f)
  KD_FIELD(format)
  KD_FIELD(format_version)
  KD_FIELD(teacher_source)
  KD_FIELD(teacher_arch)
  KD_FIELD(teacher_checkpoint_hash)
  KD_FIELD(dataset)
  KD_FIELD(split)
  KD_FIELD(dataset_fingerprint)
  KD_NAMED(n, "N")
  KD_NAMED(c, "C")
  KD_NAMED(v, "V")
  KD_FIELD(temperatures)
  KD_FIELD(augment)
  KD_FIELD(augment_seed)
  KD_FIELD(input)
  KD_FIELD(standardize)
  KD_FIELD(feature_noise)
  KD_FIELD(dtype)
  KD_FIELD(top_k)
  if (top_k_rule != o.top_k_rule)
    return "top_k_rule: " + to_string(top_k_rule) + " vs " + to_string(o.top_k_rule);
  KD_FIELD(chunk)
  KD_FIELD(shard_index)
  KD_FIELD(shard_count)
  KD_FIELD(first_example)
#undef KD_FIELD
#undef KD_NAMED
  return "";
}

}  // namespace kd
