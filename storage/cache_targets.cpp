// What a student learns from (storage/logit_cache.h): a cache's targets at one temperature, held
// whole or read a chunk at a time as the student asks for its rows.
#include <algorithm>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <utility>

#include "lib/core/error.h"
#include "lib/core/number_text.h"
#include "lib/core/work_ledger.h"
#include "storage/file_stamp.h"
#include "storage/logit_cache.h"
#include "storage/logit_cache_impl.h"

namespace kd {

namespace {

// Chunks kept at least: those of a window of the chunked order (16 data chunks, each within one
// cache chunk when the cache's chunks hold whole ones) and of the next, which a batch may reach.
constexpr int64_t kMinChunks = 32;

// One view's rows of a cache chunk, as stored: a full cache's logits (float32 [n, C]), or a
// top-k cache's values (as stored) and classes [n, K].
struct ChunkRows {
  torch::Tensor logits, values, classes;
};

class ChunkedTargets final : public TargetSource {
 public:
  // `impl`: the cache opened again, for this reader alone; `stamp`: the file as it was checked.
  ChunkedTargets(std::unique_ptr<LogitCache::Impl> impl, double t, int64_t memory,
                 const FileStamp& stamp)
      : own_(std::move(impl)), impl_(*own_), t_(t), stamp_(stamp) {
    const CacheHeader& h = impl_.header;
    // Per row as kept: float32 logits, or float16 values and int16 classes (int32 past 32,767).
    const int64_t row_bytes = h.top_k > 0 ? h.top_k * (2 + (h.c > 32767 ? 4 : 2)) : h.c * 4;
    capacity_ = std::max(kMinChunks, memory / std::max<int64_t>(1, h.chunk * row_bytes));
  }

  int64_t views() const override { return impl_.header.v; }

  torch::Tensor rows(int64_t view, const torch::Tensor& rows_in,
                     torch::ScalarType type) const override {
    const CacheHeader& h = impl_.header;
    const torch::Tensor rows = rows_in.to(torch::kInt64).contiguous();
    const int64_t b = rows.numel();
    if (b == 0) return torch::empty({0, h.c}, type);
    // The rows of each chunk asked for, and where they go.
    std::map<int64_t, std::pair<std::vector<int64_t>, std::vector<int64_t>>> by_chunk;
    for (int64_t i = 0; i < b; ++i) {
      const int64_t r = rows.data_ptr<int64_t>()[i];
      TORCH_CHECK(r >= 0 && r < h.n, "cache row ", r, " of ", h.n);
      auto& [local, at] = by_chunk[r / h.chunk];
      local.push_back(r % h.chunk);
      at.push_back(i);
    }
    const std::lock_guard<std::mutex> lock(mutex_);
    ChunkRows out;
    for (const auto& [k, where] : by_chunk) {
      const ChunkRows& chunk = rows_of(view, k);
      const torch::Tensor local = torch::tensor(where.first, torch::kInt64);
      const torch::Tensor at = torch::tensor(where.second, torch::kInt64);
      const auto gather = [&](torch::Tensor& into, const torch::Tensor& from) {
        if (!into.defined()) into = torch::empty({b, from.size(1)}, from.options());
        into.index_copy_(0, at, from.index_select(0, local));
      };
      if (h.top_k > 0) {
        gather(out.values, chunk.values);
        gather(out.classes, chunk.classes);
      } else {
        gather(out.logits, chunk.logits);
      }
    }
    // The held targets' own arithmetic on the same rows.
    const torch::Tensor all = torch::arange(b);
    if (h.top_k == 0) return SoftTargets::of_logits(out.logits.unsqueeze(0), t_).rows(0, all, type);
    return SoftTargets::of_top_k(out.values.unsqueeze(0), out.classes.unsqueeze(0), h.c,
                                 h.top_k_rule)
        .rows(0, all, type);
  }

 private:
  using Key = std::pair<int64_t, int64_t>;  // (view, chunk)

  // Chunk k of view `view`, read if it is not kept (the least recently used one dropped).
  const ChunkRows& rows_of(int64_t view, int64_t k) const {
    const Key key{view, k};
    if (const auto it = at_.find(key); it != at_.end()) {
      kept_.splice(kept_.begin(), kept_, it->second);
      return it->second->second;
    }
    const CacheHeader& h = impl_.header;
    const int64_t first = k * h.chunk, n = std::min(h.chunk, h.n - first);
    stamp_.expect_unchanged(impl_.path);  // rewritten since its damage was checked: refused
    ChunkRows c;
    if (h.top_k == 0) {
      c.logits = impl_.read_rows("/logits", view, 1, first, n)[0];
    } else {
      const torch::Tensor values =
          impl_.read_rows(CacheHeader::probs_path(t_), view, 1, first, n,
                          /*finite_only=*/false, /*keep_stored_type=*/true);
      const torch::Tensor classes = impl_.read_classes(first, n, view, 1);
      impl_.check_top_k(t_, values, classes, first);
      c.values = values[0];
      c.classes = classes[0];
    }
    kept_.emplace_front(key, std::move(c));
    at_[key] = kept_.begin();
    if (static_cast<int64_t>(kept_.size()) > capacity_) {
      at_.erase(kept_.back().first);
      kept_.pop_back();
    }
    return kept_.front().second;
  }

  std::unique_ptr<LogitCache::Impl> own_;
  const LogitCache::Impl& impl_;
  double t_;
  FileStamp stamp_;
  int64_t capacity_ = kMinChunks;
  mutable std::mutex mutex_;
  mutable std::list<std::pair<Key, ChunkRows>> kept_;  ///< most recently used first
  mutable std::map<Key, std::list<std::pair<Key, ChunkRows>>::iterator> at_;
};

}  // namespace

void LogitCache::Impl::check_top_k(double t, const torch::Tensor& values,
                                   const torch::Tensor& classes, int64_t first) const {
  const int64_t n = values.size(1);
  for (int64_t at = 0; at < n; at += check_block()) {
    const int64_t rows = std::min(check_block(), n - at);
    std::string problem = top_k_classes_problem(classes.narrow(1, at, rows), header.c, first + at);
    const char* name = CacheHeader::kTopKIndicesPath;
    if (problem.empty()) {
      problem = top_k_values_problem(values.narrow(1, at, rows), header.c, first + at);
      name = nullptr;
    }
    check<StorageError>(problem.empty(), path.string(), ": ",
                        name ? std::string(name) : CacheHeader::probs_path(t), ": ", problem,
                        " (a damaged cache)");
  }
}

SoftTargets LogitCache::targets(double t) const {
  const PhaseScope phase(Phase::load);
  const CacheHeader& h = impl_->header;
  if (h.top_k == 0) return SoftTargets::of_logits(logits(), t);
  expect_temperature(t);
  torch::Tensor values = impl_->read_rows(CacheHeader::probs_path(t), 0, h.v, 0, h.n,
                                          /*finite_only=*/false, /*keep_stored_type=*/true);
  torch::Tensor classes = impl_->read_classes(0, h.n);
  // Damage is refused before any training, in one line naming the dataset.
  impl_->check_top_k(t, values, classes, 0);
  return SoftTargets::of_top_k(std::move(values), std::move(classes), h.c, h.top_k_rule);
}

SoftTargets LogitCache::streamed_targets(double t, int64_t memory) const {
  const PhaseScope phase(Phase::load);
  const CacheHeader& h = impl_->header;
  if (h.top_k == 0) {
    expect_logits();
  } else {
    expect_temperature(t);
  }
  // Damage is refused before any training: every row read once, a block at a time.
  const FileStamp stamp = FileStamp::of(impl_->path);
  for (int64_t first = 0; first < h.n; first += impl_->check_block()) {
    const int64_t rows = std::min(impl_->check_block(), h.n - first);
    if (h.top_k == 0) {
      impl_->read_rows("/logits", 0, h.v, first, rows);
    } else {
      impl_->check_top_k(t,
                         impl_->read_rows(CacheHeader::probs_path(t), 0, h.v, first, rows,
                                          /*finite_only=*/false, /*keep_stored_type=*/true),
                         impl_->read_classes(first, rows), first);
    }
  }
  auto own = std::make_unique<Impl>();
  own->path = impl_->path;
  own->open();
  return SoftTargets::of_source(std::make_shared<ChunkedTargets>(std::move(own), t, memory, stamp));
}

void LogitCache::expect_temperature(double t) const {
  const CacheHeader& h = impl_->header;
  if (h.top_k == 0) return;
  std::string cached;
  for (double have : h.temperatures) cached += (cached.empty() ? "" : ", ") + exact_text(have);
  check<ConfigError>(has_probs(t), "--temperature ", exact_text(t), ": ", impl_->path.string(),
                     " is a top-k cache, which holds its temperatures only (", cached, ")");
}

}  // namespace kd
