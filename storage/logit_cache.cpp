#include "storage/logit_cache.h"

#include <cmath>
#include <sstream>

#include "lib/core/error.h"
#include "lib/core/files.h"
#include "lib/core/work_ledger.h"
#include "storage/cache_header_h5.h"
#include "storage/h5.h"
#include "storage/logit_cache_impl.h"

namespace kd {

namespace fs = std::filesystem;

torch::Tensor LogitCache::Impl::read_rows(const std::string& name, int64_t view_begin,
                                          int64_t views, int64_t row_begin, int64_t rows,
                                          bool finite_only, bool keep_stored_type) const {
  const h5::Handle ds = h5::open_dataset(file.get(), name, path);
  const torch::ScalarType type = tensor_type(header);
  // HDF5 converts any stored numbers to the type asked for: a dataset of other numbers than the
  // dtype attribute says is damage, not data.
  const auto [stored_class, stored_size] = h5::stored_type(ds, path);
  const std::size_t want_size = type == torch::kHalf ? 2 : 4;
  check<StorageError>(stored_class == H5T_FLOAT && stored_size == want_size, path.string(), ": ",
                      name, " is stored as ",
                      stored_class == H5T_FLOAT ? "floating point" : "integers", " of ",
                      stored_size, " bytes, but the dtype attribute says ", header.dtype);
  const int64_t width = header.row_width();
  torch::Tensor out = torch::empty({views, rows, width}, type);
  h5::read_block(
      ds, type == torch::kHalf ? half.get() : H5T_NATIVE_FLOAT,
      {static_cast<hsize_t>(view_begin), static_cast<hsize_t>(row_begin), 0},
      {static_cast<hsize_t>(views), static_cast<hsize_t>(rows), static_cast<hsize_t>(width)},
      out.data_ptr(), path, "reading " + name);
  const int64_t bad =
      finite_only ? torch::logical_not(torch::isfinite(out)).sum().item<int64_t>() : 0;
  check<StorageError>(bad == 0, path.string(), ": ", name, " holds ", bad,
                      " non-finite values (NaN or infinity): a damaged cache, or a teacher that "
                      "diverged; `kdpipe inspect` shows more");
  return keep_stored_type ? out : out.to(torch::kFloat32);
}

torch::Tensor LogitCache::Impl::read_classes(int64_t row_begin, int64_t rows, int64_t view_begin,
                                             int64_t views) const {
  if (views < 0) views = header.v - view_begin;
  const h5::Handle ds = h5::open_dataset(file.get(), CacheHeader::kTopKIndicesPath, path);
  const bool narrow = header.c <= 32767;
  const auto [stored_class, stored_size] = h5::stored_type(ds, path);
  check<StorageError>(stored_class == H5T_INTEGER && stored_size == (narrow ? 2U : 4U),
                      path.string(), ": ", CacheHeader::kTopKIndicesPath, " is stored as ",
                      stored_class == H5T_INTEGER ? "integers" : "non-integers", " of ",
                      stored_size, " bytes; class indices of C = ", header.c, " classes are ",
                      narrow ? "int16" : "int32");
  torch::Tensor out =
      torch::empty({views, rows, header.top_k}, narrow ? torch::kInt16 : torch::kInt32);
  h5::read_block(
      ds, narrow ? H5T_NATIVE_INT16 : H5T_NATIVE_INT32,
      {static_cast<hsize_t>(view_begin), static_cast<hsize_t>(row_begin), 0},
      {static_cast<hsize_t>(views), static_cast<hsize_t>(rows), static_cast<hsize_t>(header.top_k)},
      out.data_ptr(), path, std::string("reading ") + CacheHeader::kTopKIndicesPath);
  return out;
}

torch::Tensor LogitCache::Impl::read_labels(int64_t row_begin, int64_t rows) const {
  const h5::Handle ds = h5::open_dataset(file.get(), "/labels", path);
  torch::Tensor out = torch::empty({rows}, torch::kInt64);
  h5::read_block(ds, H5T_NATIVE_INT64, {static_cast<hsize_t>(row_begin)},
                 {static_cast<hsize_t>(rows)}, out.data_ptr<int64_t>(), path, "reading /labels");
  return out;
}

void LogitCache::Impl::open() {
  file = h5::open_file(path, /*writable=*/false);
  half = h5::half_type();
  header = read_header(file.get(), path);
  // Shapes first: an attribute that disagrees with the datasets (N = 1e12) is damage, and
  // would otherwise read as a file whose chunks are not all written.
  const hsize_t v = header.v, n = header.n, width = header.row_width();
  expect_shape(header.top_k > 0 ? CacheHeader::kTopKIndicesPath : "/logits", {v, n, width});
  for (double t : header.temperatures) expect_shape(CacheHeader::probs_path(t), {v, n, width});
  expect_shape("/labels", {n});
  if (h5::has_attr(file.get(), kChunksDone)) {
    const int64_t done = h5::get_int(file.get(), kChunksDone, path);
    check<StorageError>(done == chunk_count_of(header), path.string(), ": field 'chunks_done' is ",
                        done, ", a complete cache has ", chunk_count_of(header),
                        " (an unfinished file)");
  }
}

void LogitCache::Impl::expect_shape(const std::string& name,
                                    const std::vector<hsize_t>& want) const {
  const h5::Handle ds = h5::open_dataset(file.get(), name, path);
  const std::vector<hsize_t> got = h5::shape(ds, path);
  const char* attributes = header.top_k > 0 ? "N, V, top_k" : "N, C, V";
  check<StorageError>(got == want, path.string(), ": dataset ", name, " has shape ",
                      h5::shape_text(got), ", the attributes ", attributes, " say ",
                      h5::shape_text(want));
  const std::string missing = h5::missing_data(ds, path);
  check<StorageError>(missing.empty(), path.string(), ": dataset ", name, " declares ",
                      h5::shape_text(got), " but ", missing);
}

int64_t LogitCache::Impl::check_block() const {
  return std::max<int64_t>(1, (int64_t{1} << 21) / std::max<int64_t>(1, header.v * header.c));
}

LogitCache::LogitCache(fs::path path) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.path = std::move(path);
  if (!fs::exists(m.path) && fs::exists(LogitCacheWriter::partial_path(m.path))) {
    throw StorageError(m.path.string() + ": no such file; " +
                       LogitCacheWriter::partial_path(m.path).string() +
                       " is an unfinished cache run (run kdpipe cache again to finish it)");
  }
  check<StorageError>(!fs::is_directory(m.path), m.path.string(),
                      ": a directory, not a cache file (.h5)");
  // The structure is read first in a child: a file that crashes libhdf5 is named, not fatal.
  const std::string problem = h5::reading_problem([&] {
    Impl trial;
    trial.path = m.path;
    trial.open();
  });
  check<StorageError>(problem.empty(), m.path.string(), ": ", problem);
  m.open();
}

LogitCache::~LogitCache() = default;
LogitCache::LogitCache(LogitCache&&) noexcept = default;
LogitCache& LogitCache::operator=(LogitCache&&) noexcept = default;

const fs::path& LogitCache::path() const { return impl_->path; }
const CacheHeader& LogitCache::header() const { return impl_->header; }

torch::Tensor LogitCache::logits() const {
  const PhaseScope phase(Phase::load);
  expect_logits();
  return impl_->read_rows("/logits", 0, impl_->header.v, 0, impl_->header.n);
}

torch::Tensor LogitCache::logits(int64_t view) const {
  TORCH_CHECK(view >= 0 && view < impl_->header.v, "view ", view, " of ", impl_->header.v);
  expect_logits();
  return impl_->read_rows("/logits", view, 1, 0, impl_->header.n)[0];
}

void LogitCache::expect_logits() const {
  check<StorageError>(impl_->header.top_k == 0, impl_->path.string(),
                      ": a top-k cache (K = ", impl_->header.top_k, ") holds no logits, only the ",
                      impl_->header.top_k,
                      " largest probabilities of each row at its temperatures");
}

bool LogitCache::has_probs(double t) const {
  for (double have : impl_->header.temperatures) {
    if (std::abs(have - t) < 1e-12) return true;
  }
  return false;
}

torch::Tensor LogitCache::probs(double t) const {
  check<StorageError>(has_probs(t), impl_->path.string(), ": no probabilities cached at T=", t);
  return impl_->read_rows(CacheHeader::probs_path(t), 0, impl_->header.v, 0, impl_->header.n);
}

torch::Tensor LogitCache::labels() const { return impl_->read_labels(0, impl_->header.n); }

CacheChunk LogitCache::read_rows(int64_t first, int64_t rows) const {
  const CacheHeader& h = impl_->header;
  CacheChunk out;
  if (h.top_k > 0) {
    out.classes = impl_->read_classes(first, rows);
  } else {
    out.logits = impl_->read_rows("/logits", 0, h.v, first, rows);
  }
  for (double t : h.temperatures) {
    out.probs.push_back(impl_->read_rows(CacheHeader::probs_path(t), 0, h.v, first, rows,
                                         /*finite_only=*/true, /*keep_stored_type=*/true));
  }
  out.labels = impl_->read_labels(first, rows);
  return out;
}

int64_t LogitCache::soft_label_bytes() const {
  const CacheHeader& h = impl_->header;
  std::vector<std::string> names{h.top_k > 0 ? CacheHeader::kTopKIndicesPath : "/logits"};
  for (double t : h.temperatures) names.push_back(CacheHeader::probs_path(t));
  int64_t bytes = 0;
  for (const std::string& name : names)
    bytes += h5::storage_bytes(h5::open_dataset(impl_->file.get(), name, impl_->path));
  return bytes;
}

void LogitCache::expect_data(const std::string& dataset, const std::string& split,
                             const std::string& fingerprint, int64_t n, int64_t held_out) const {
  const CacheHeader& h = impl_->header;
  const std::string file = impl_->path.string();
  check<StorageError>(h.shard_count == 0, file, ": shard ", h.shard_index, "/", h.shard_count,
                      " of a cache (examples ", h.first_example, " to ", h.first_example + h.n,
                      "), not a whole one: join the shards with kdpipe cache-merge");
  check<StorageError>(h.dataset == dataset, file, ": field 'dataset' is '", h.dataset,
                      "', the data given is '", dataset, "'");
  check<StorageError>(h.split == split, file, ": field 'split' is '", h.split,
                      "', the data given is '", split, "'");
  // Of one file's training examples, a cache written with another --val-size holds another count.
  const int64_t cache_held_out = held_out < 0 ? -1 : n + held_out - h.n;
  check<StorageError>(
      h.n == n, file, ": field 'N' is ", h.n, ", the data given has ", n, " examples",
      cache_held_out < 0
          ? std::string()
          : " (was the cache written with --val-size " + std::to_string(cache_held_out) +
                "? this run holds out " + std::to_string(held_out) + ")");
  check<StorageError>(h.dataset_fingerprint == fingerprint, file,
                      ": field 'dataset_fingerprint' is ", h.dataset_fingerprint,
                      ", the data given has ", fingerprint);
}

std::vector<std::string> LogitCache::verify() const {
  return impl_->header.top_k > 0 ? impl_->verify_top_k() : impl_->verify_full();
}

}  // namespace kd
