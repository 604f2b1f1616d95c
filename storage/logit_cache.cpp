#include "storage/logit_cache.h"

#include <cmath>
#include <optional>
#include <sstream>

#include "lib/core/error.h"
#include "lib/core/file_lock.h"
#include "lib/core/files.h"
#include "storage/cache_header_h5.h"
#include "storage/h5.h"

namespace kd {

namespace fs = std::filesystem;

namespace {

constexpr const char* kChunksDone = "chunks_done";

int64_t chunk_count_of(const CacheHeader& h) {
  return h.chunk > 0 ? (h.n + h.chunk - 1) / h.chunk : 0;
}

/// Type used in memory for the stored dtype: float32 tensors are written and read as float32,
/// float16 ones as IEEE half (the bits of a torch kHalf tensor).
torch::ScalarType tensor_type(const CacheHeader& h) {
  return h.dtype == "float16" ? torch::kHalf : torch::kFloat32;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Writer

namespace {

fs::path lock_path(const fs::path& cache) {
  return cache.parent_path() / (cache.filename().string() + ".lock");
}

}  // namespace

struct LogitCacheWriter::Impl {
  fs::path final_path;
  fs::path partial;
  std::optional<FileLock> lock;  ///< held while this process writes the cache
  CacheHeader header;
  h5::Handle file;
  h5::Handle logits;
  std::vector<h5::Handle> probs;
  h5::Handle labels;
  h5::Handle half;
  int64_t chunks = 0;
  int64_t done = 0;
  std::string restart_reason;

  hid_t mem_type() const { return header.dtype == "float16" ? half.get() : H5T_NATIVE_FLOAT; }

  bool try_resume() {
    if (!fs::exists(partial)) return false;
    try {
      h5::Handle f = h5::open_file(partial, /*writable=*/true);
      const CacheHeader found = read_header(f.get(), partial);
      const std::string diff = header.differs_from(found);
      if (!diff.empty()) {
        restart_reason =
            "the unfinished " + partial.string() + " is for other settings (" + diff + ")";
        return false;
      }
      file = std::move(f);
      logits = h5::open_dataset(file.get(), "/logits", partial);
      for (double t : header.temperatures) {
        probs.push_back(h5::open_dataset(file.get(), CacheHeader::probs_path(t), partial));
      }
      labels = h5::open_dataset(file.get(), "/labels", partial);
      done = h5::get_int(file.get(), kChunksDone, partial);
      check<StorageError>(done >= 0 && done <= chunks, partial.string(), ": chunks_done is ", done);
      return true;
    } catch (const StorageError& e) {
      restart_reason = std::string("the unfinished file could not be resumed: ") + e.what();
      probs.clear();
      logits.reset();
      labels.reset();
      file.reset();
      return false;
    }
  }

  void create(int deflate) {
    std::error_code ignored;
    fs::remove(partial, ignored);
    file = h5::create_file(partial);
    write_header(file.get(), header, partial);
    h5::set_attr(file.get(), kChunksDone, int64_t{0}, partial);
    const hsize_t v = header.v, n = header.n, c = header.c;
    const hsize_t chunk_n = std::min<hsize_t>(header.chunk, n);
    h5::DatasetSpec spec{{v, n, c}, {1, chunk_n, c}, deflate};
    const hid_t file_type = header.dtype == "float16" ? half.get() : H5T_IEEE_F32LE;
    logits = h5::create_dataset(file.get(), "/logits", file_type, spec, partial);
    for (double t : header.temperatures) {
      probs.push_back(
          h5::create_dataset(file.get(), CacheHeader::probs_path(t), file_type, spec, partial));
    }
    labels = h5::create_dataset(file.get(), "/labels", H5T_STD_I64LE, {{n}, {chunk_n}, deflate},
                                partial);
    h5::flush(file, partial);
    done = 0;
  }
};

LogitCacheWriter::LogitCacheWriter(fs::path path, CacheHeader header, int deflate)
    : impl_(std::make_unique<Impl>()) {
  check<ConfigError>(header.n > 0 && header.c > 0 && header.v > 0 && header.chunk > 0, "cache ",
                     path.string(), ": N, C, V and chunk must be positive");
  check<ConfigError>(header.dtype == "float32" || header.dtype == "float16", "cache dtype '",
                     header.dtype, "' is neither float32 nor float16");
  check<ConfigError>(deflate >= 0 && deflate <= 9, "--compress: expected a gzip level 0-9, got ",
                     deflate);
  impl_->final_path = std::move(path);
  impl_->partial = partial_path(impl_->final_path);
  impl_->header = std::move(header);
  impl_->half = h5::half_type();
  impl_->chunks = chunk_count_of(impl_->header);
  if (impl_->final_path.has_parent_path()) ensure_directory(impl_->final_path.parent_path());
  // A second writer of the same file would start over on the first's .partial.
  impl_->lock.emplace(lock_path(impl_->final_path));
  check<StorageError>(impl_->lock->held(), impl_->final_path.string(),
                      ": another process is writing this cache now (it holds ",
                      lock_path(impl_->final_path).string(),
                      "); wait for it or choose another --out");
  if (!impl_->try_resume()) impl_->create(deflate);
}

LogitCacheWriter::~LogitCacheWriter() = default;

int64_t LogitCacheWriter::chunk_count() const { return impl_->chunks; }
int64_t LogitCacheWriter::chunks_done() const { return impl_->done; }
const std::string& LogitCacheWriter::restart_reason() const { return impl_->restart_reason; }

fs::path LogitCacheWriter::partial_path(const fs::path& path) {
  return path.parent_path() / (path.filename().string() + ".partial");
}

void LogitCacheWriter::write_chunk(int64_t k, const torch::Tensor& logits_in,
                                   const torch::Tensor& labels_in) {
  Impl& m = *impl_;
  TORCH_CHECK(k == m.done, "cache chunks are written in order: expected chunk ", m.done, ", got ",
              k);
  const int64_t begin = k * m.header.chunk;
  const int64_t n = std::min(m.header.chunk, m.header.n - begin);
  TORCH_CHECK(logits_in.sizes() == torch::IntArrayRef({m.header.v, n, m.header.c}), "chunk ", k,
              " logits have shape ", logits_in.sizes());
  const torch::Tensor z = logits_in.to(torch::kCPU, torch::kFloat32).contiguous();
  const std::vector<hsize_t> start{0, static_cast<hsize_t>(begin), 0};
  const std::vector<hsize_t> count{static_cast<hsize_t>(m.header.v), static_cast<hsize_t>(n),
                                   static_cast<hsize_t>(m.header.c)};
  const torch::ScalarType stored = tensor_type(m.header);
  const torch::Tensor zs = z.to(stored).contiguous();
  h5::write_block(m.logits, m.mem_type(), start, count, zs.data_ptr(), m.partial,
                  "writing /logits");
  for (std::size_t i = 0; i < m.header.temperatures.size(); ++i) {
    const double t = m.header.temperatures[i];
    const torch::Tensor p = torch::softmax(z / t, 2).to(stored).contiguous();
    h5::write_block(m.probs[i], m.mem_type(), start, count, p.data_ptr(), m.partial,
                    "writing " + CacheHeader::probs_path(t));
  }
  const torch::Tensor y = labels_in.to(torch::kCPU, torch::kInt64).contiguous();
  h5::write_block(m.labels, H5T_NATIVE_INT64, {static_cast<hsize_t>(begin)},
                  {static_cast<hsize_t>(n)}, y.data_ptr<int64_t>(), m.partial, "writing /labels");
  // Data first, then the marker: after a crash, chunks_done never counts an unwritten chunk.
  h5::flush(m.file, m.partial);
  h5::set_attr(m.file.get(), kChunksDone, k + 1, m.partial);
  h5::flush(m.file, m.partial);
  m.done = k + 1;
}

void LogitCacheWriter::finish() {
  Impl& m = *impl_;
  check<StorageError>(m.done == m.chunks, m.partial.string(), ": finishing with ", m.done, " of ",
                      m.chunks, " chunks written");
  m.probs.clear();
  m.logits.reset();
  m.labels.reset();
  m.file.reset();
  std::error_code ec;
  fs::rename(m.partial, m.final_path, ec);
  check<StorageError>(!ec, "renaming ", m.partial.string(), " to ", m.final_path.string(), ": ",
                      ec.message());
  fs::remove(lock_path(m.final_path), ec);
  m.lock.reset();
}

// ---------------------------------------------------------------------------------------------
// Reader

struct LogitCache::Impl {
  fs::path path;
  h5::Handle file;
  CacheHeader header;
  h5::Handle half;

  // Views [view_begin, view_begin + views) of dataset `name`, as float32; with `finite_only`,
  // StorageError when any value is NaN or infinite.
  torch::Tensor read(const std::string& name, int64_t view_begin, int64_t views,
                     bool finite_only = true) const {
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
    torch::Tensor out = torch::empty({views, header.n, header.c}, type);
    h5::read_block(ds, type == torch::kHalf ? half.get() : H5T_NATIVE_FLOAT,
                   {static_cast<hsize_t>(view_begin), 0, 0},
                   {static_cast<hsize_t>(views), static_cast<hsize_t>(header.n),
                    static_cast<hsize_t>(header.c)},
                   out.data_ptr(), path, "reading " + name);
    const int64_t bad =
        finite_only ? torch::logical_not(torch::isfinite(out)).sum().item<int64_t>() : 0;
    check<StorageError>(bad == 0, path.string(), ": ", name, " holds ", bad,
                        " non-finite values (NaN or infinity): a damaged cache, or a teacher that "
                        "diverged; `kdpipe inspect` shows more");
    return out.to(torch::kFloat32);
  }

  void expect_shape(const std::string& name, const std::vector<hsize_t>& want) const {
    const h5::Handle ds = h5::open_dataset(file.get(), name, path);
    const std::vector<hsize_t> got = h5::shape(ds, path);
    auto show = [](const std::vector<hsize_t>& s) {
      std::ostringstream o;
      o << "[";
      for (std::size_t i = 0; i < s.size(); ++i) o << (i ? ", " : "") << s[i];
      return o.str() + "]";
    };
    check<StorageError>(got == want, path.string(), ": dataset ", name, " has shape ", show(got),
                        ", the attributes N, C, V say ", show(want));
  }
};

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
  m.file = h5::open_file(m.path, /*writable=*/false);
  m.half = h5::half_type();
  m.header = read_header(m.file.get(), m.path);
  if (h5::has_attr(m.file.get(), kChunksDone)) {
    const int64_t done = h5::get_int(m.file.get(), kChunksDone, m.path);
    check<StorageError>(done == chunk_count_of(m.header), m.path.string(),
                        ": field 'chunks_done' is ", done, ", a complete cache has ",
                        chunk_count_of(m.header), " (an unfinished file)");
  }
  const hsize_t v = m.header.v, n = m.header.n, c = m.header.c;
  m.expect_shape("/logits", {v, n, c});
  for (double t : m.header.temperatures) m.expect_shape(CacheHeader::probs_path(t), {v, n, c});
  m.expect_shape("/labels", {n});
}

LogitCache::~LogitCache() = default;
LogitCache::LogitCache(LogitCache&&) noexcept = default;
LogitCache& LogitCache::operator=(LogitCache&&) noexcept = default;

const fs::path& LogitCache::path() const { return impl_->path; }
const CacheHeader& LogitCache::header() const { return impl_->header; }

torch::Tensor LogitCache::logits() const { return impl_->read("/logits", 0, impl_->header.v); }

torch::Tensor LogitCache::logits(int64_t view) const {
  TORCH_CHECK(view >= 0 && view < impl_->header.v, "view ", view, " of ", impl_->header.v);
  return impl_->read("/logits", view, 1)[0];
}

bool LogitCache::has_probs(double t) const {
  for (double have : impl_->header.temperatures) {
    if (std::abs(have - t) < 1e-12) return true;
  }
  return false;
}

torch::Tensor LogitCache::probs(double t) const {
  check<StorageError>(has_probs(t), impl_->path.string(), ": no probabilities cached at T=", t);
  return impl_->read(CacheHeader::probs_path(t), 0, impl_->header.v);
}

torch::Tensor LogitCache::labels() const {
  const h5::Handle ds = h5::open_dataset(impl_->file.get(), "/labels", impl_->path);
  torch::Tensor out = torch::empty({impl_->header.n}, torch::kInt64);
  h5::read_block(ds, H5T_NATIVE_INT64, {0}, {static_cast<hsize_t>(impl_->header.n)},
                 out.data_ptr<int64_t>(), impl_->path, "reading /labels");
  return out;
}

void LogitCache::expect_data(const std::string& dataset, const std::string& split,
                             const std::string& fingerprint, int64_t n) const {
  const CacheHeader& h = impl_->header;
  const std::string file = impl_->path.string();
  check<StorageError>(h.dataset == dataset, file, ": field 'dataset' is '", h.dataset,
                      "', the data given is '", dataset, "'");
  check<StorageError>(h.split == split, file, ": field 'split' is '", h.split,
                      "', the data given is '", split, "'");
  check<StorageError>(h.n == n, file, ": field 'N' is ", h.n, ", the data given has ", n,
                      " examples");
  check<StorageError>(h.dataset_fingerprint == fingerprint, file,
                      ": field 'dataset_fingerprint' is ", h.dataset_fingerprint,
                      ", the data given has ", fingerprint);
}

std::vector<std::string> LogitCache::verify() const {
  std::vector<std::string> problems;
  const CacheHeader& h = impl_->header;
  torch::Tensor z;
  try {
    z = impl_->read("/logits", 0, h.v, /*finite_only=*/false);
  } catch (const StorageError& e) {
    return {e.what()};
  }
  const int64_t bad = (~torch::isfinite(z)).sum().item<int64_t>();
  if (bad > 0) problems.push_back("/logits: " + std::to_string(bad) + " values are NaN or Inf");
  const double tol = h.dtype == "float16" ? 2e-3 : 1e-5;
  for (double t : h.temperatures) {
    torch::Tensor p;
    try {
      p = impl_->read(CacheHeader::probs_path(t), 0, h.v, /*finite_only=*/false);
    } catch (const StorageError& e) {
      problems.push_back(e.what());
      continue;
    }
    const torch::Tensor want = torch::softmax(z.to(torch::kFloat64) / t, 2);
    const double err = (p.to(torch::kFloat64) - want).abs().max().item<double>();
    if (!(err <= tol)) {
      std::ostringstream msg;
      msg << CacheHeader::probs_path(t) << ": differs from softmax(logits / " << t << ") by up to "
          << err << " (tolerance " << tol << ")";
      problems.push_back(msg.str());
    }
  }
  const torch::Tensor y = labels();
  if (y.numel() > 0 && (y.min().item<int64_t>() < 0 || y.max().item<int64_t>() >= h.c)) {
    problems.push_back("/labels: values outside [0, " + std::to_string(h.c) + ")");
  }
  return problems;
}

}  // namespace kd
