// The splits of a training file: the validation hold-out, and the order an epoch visits the
// training split in (lib/data/datasets.h).
#include <algorithm>
#include <cstring>
#include <numeric>

#include "lib/core/error.h"
#include "lib/core/hash.h"
#include "lib/data/datasets.h"
#include "lib/data/example_stream.h"

namespace kd {

namespace {

constexpr std::uint64_t kValSplitKey = 0x76616c2d73706c74ULL;  // fixed: same split for all seeds

}  // namespace

std::pair<std::vector<int64_t>, std::vector<int64_t>> hold_out_rows(int64_t n, int64_t val_size) {
  check<ConfigError>(val_size >= 0 && val_size < n, "--val-size: expected a count in [0, ", n,
                     "), the size of the training file, got ", val_size);
  std::vector<int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::vector<std::uint64_t> keys(order.size());
  for (int64_t i = 0; i < n; ++i)
    keys[static_cast<std::size_t>(i)] = counter_random(kValSplitKey, 0, i);
  // The val examples are those with the smallest keys; both parts keep the file's order.
  std::vector<int64_t> by_key = order;
  std::nth_element(by_key.begin(), by_key.begin() + val_size, by_key.end(),
                   [&](int64_t a, int64_t b) { return keys[a] < keys[b]; });
  std::vector<char> is_val(order.size(), 0);
  for (int64_t k = 0; k < val_size; ++k) is_val[static_cast<std::size_t>(by_key[k])] = 1;
  std::vector<int64_t> train_idx, val_idx;
  for (int64_t i = 0; i < n; ++i) (is_val[i] ? val_idx : train_idx).push_back(i);
  return {train_idx, val_idx};
}

std::pair<ImageSet, ImageSet> hold_out(ImageSet full, int64_t val_size) {
  const int64_t n = full.size();
  const auto [train_idx, val_idx] = hold_out_rows(n, val_size);
  auto as_tensor = [](const std::vector<int64_t>& v) { return torch::tensor(v, torch::kInt64); };
  ImageSet val = val_idx.empty() ? ImageSet{full.images.slice(0, 0, 0), full.labels.slice(0, 0, 0)}
                                 : full.select(as_tensor(val_idx));
  // Held once: when `full` is the only owner of its pixels, the training examples move forward
  // in its own storage (row i to row k <= i, in order) instead of being copied out.
  // (No other handle on this tensor, and no other tensor on its memory.)
  const bool sole_owner = full.images.is_contiguous() && full.images.use_count() == 1 &&
                          full.images.storage().use_count() == 1;
  if (!sole_owner) return {full.select(as_tensor(train_idx)), val};
  const int64_t row_bytes = full.images.numel() / std::max<int64_t>(1, n) *
                            static_cast<int64_t>(full.images.element_size());
  auto* bytes = static_cast<std::uint8_t*>(full.images.data_ptr());
  for (std::size_t k = 0; k < train_idx.size(); ++k) {
    const int64_t i = train_idx[k];
    if (i != static_cast<int64_t>(k))
      std::memmove(bytes + static_cast<int64_t>(k) * row_bytes, bytes + i * row_bytes,
                   static_cast<std::size_t>(row_bytes));
  }
  const int64_t kept = static_cast<int64_t>(train_idx.size());
  return {
      ImageSet{full.images.narrow(0, 0, kept), full.labels.index_select(0, as_tensor(train_idx))},
      val};
}

std::string empty_classes_note(const Dataset& data) {
  const torch::Tensor& labels = data.stream ? data.stream->labels() : data.train.labels;
  if (labels.numel() == 0) return "";
  const torch::Tensor empty =
      (torch::bincount(labels, {}, data.info.classes) == 0).nonzero().flatten();
  if (empty.numel() == 0) return "";
  std::string names;
  // Classes named by number are a file's without class_names: 0 … its largest label.
  bool numbered = true;
  for (std::size_t c = 0; c < data.info.class_names.size(); ++c)
    numbered = numbered && data.info.class_names[c] == "class " + std::to_string(c);
  const int64_t shown = std::min<int64_t>(empty.numel(), 5);
  for (int64_t k = 0; k < shown; ++k) {
    const int64_t c = empty[k].item<int64_t>();
    names += (k ? ", " : "") + (static_cast<std::size_t>(c) < data.info.class_names.size()
                                    ? data.info.class_names[static_cast<std::size_t>(c)]
                                    : "class " + std::to_string(c));
  }
  if (empty.numel() > shown) names += ", ...";
  return "no training example of " + std::to_string(empty.numel()) + " of the " +
         std::to_string(data.info.classes) + " classes (" + names +
         "); the model will never predict them" +
         (numbered ? ". Without class_names the classes are the largest label + 1: a stray label?"
                   : "");
}

EpochPattern training_order(const DataOptions& options) {
  const DatasetInfo info = describe_dataset(options);
  if (info.train_examples <= options.val_size()) return {};
  int64_t example = info.channels * info.height * info.width;
  if (info.is_features()) example *= static_cast<int64_t>(sizeof(float));
  return epoch_pattern(info.train_examples - options.val_size(), example);
}

}  // namespace kd
