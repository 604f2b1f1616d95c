// LogitCacheWriter: a cache written chunk by chunk to FILE.partial, resumable, renamed when whole.
#include <cmath>
#include <optional>
#include <sstream>

#include "lib/core/error.h"
#include "lib/core/file_lock.h"
#include "lib/core/files.h"
#include "lib/core/number_text.h"
#include "storage/cache_header_h5.h"
#include "storage/h5.h"
#include "storage/logit_cache.h"
#include "storage/top_k.h"

namespace kd {

namespace fs = std::filesystem;

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
  h5::Handle logits;   ///< a full cache's
  h5::Handle indices;  ///< a top-k cache's classes
  std::vector<h5::Handle> probs;
  h5::Handle labels;
  h5::Handle half;
  int64_t chunks = 0;
  int64_t done = 0;
  std::string restart_reason;

  hid_t mem_type() const { return header.dtype == "float16" ? half.get() : H5T_NATIVE_FLOAT; }

  bool try_resume() {
    if (!fs::exists(partial)) return false;
    // Read first in a child, as every other HDF5 open: a damaged .partial that would crash
    // libhdf5 is started over, not fatal.
    std::string problem;
    try {  // a crash comes back as a problem, a kdpipe error as itself
      problem = h5::reading_problem([&] {
        const h5::Handle f = h5::open_file(partial, /*writable=*/false);
        read_header(f.get(), partial);
      });
    } catch (const StorageError& e) {
      problem = e.what();
    }
    if (!problem.empty()) {
      restart_reason = "the unfinished file could not be resumed: " + problem;
      return false;
    }
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
      if (header.top_k > 0)
        indices = h5::open_dataset(file.get(), CacheHeader::kTopKIndicesPath, partial);
      else
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
      close();
      return false;
    }
  }

  // int16 classes while they fit (C <= 32767), else int32.
  hid_t index_file_type() const { return header.c <= 32767 ? H5T_STD_I16LE : H5T_STD_I32LE; }

  void close() {
    probs.clear();
    logits.reset();
    indices.reset();
    labels.reset();
    file.reset();
  }

  void create(int deflate) {
    std::error_code ignored;
    fs::remove(partial, ignored);
    file = h5::create_file(partial);
    write_header(file.get(), header, partial);
    h5::set_attr(file.get(), kChunksDone, int64_t{0}, partial);
    const hsize_t v = header.v, n = header.n, width = header.row_width();
    const hsize_t chunk_n = std::min<hsize_t>(header.chunk, n);
    // Every chunk carries a checksum, so a flipped byte is an error on reading, not a number.
    h5::DatasetSpec spec{{v, n, width}, {1, chunk_n, width}, deflate, true};
    const hid_t file_type = header.dtype == "float16" ? half.get() : H5T_IEEE_F32LE;
    if (header.top_k > 0) {
      indices = h5::create_dataset(file.get(), CacheHeader::kTopKIndicesPath, index_file_type(),
                                   spec, partial);
    } else {
      logits = h5::create_dataset(file.get(), "/logits", file_type, spec, partial);
    }
    for (double t : header.temperatures) {
      probs.push_back(
          h5::create_dataset(file.get(), CacheHeader::probs_path(t), file_type, spec, partial));
    }
    labels = h5::create_dataset(file.get(), "/labels", H5T_STD_I64LE,
                                {{n}, {chunk_n}, deflate, true}, partial);
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
  check<ConfigError>(header.top_k >= 0 && header.top_k <= header.c, "--top-k: expected 0 (a full ",
                     "cache) to C = ", header.c, " classes, got ", header.top_k);
  check<ConfigError>(header.top_k == 0 || header.dtype == "float16",
                     "--top-k: a top-k cache keeps its values as float16 (dtype ", header.dtype,
                     " asked)");
  header.format_version = header.top_k > 0 ? kTopKFormatVersion : kCacheFormatVersion;
  check_replaceable(path, "writing the cache");
  check_replaceable(partial_path(path), "writing the cache");
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
  const CacheHeader& h = impl_->header;
  const torch::Tensor z = logits_in.to(torch::kCPU, torch::kFloat32).contiguous();
  CacheChunk chunk;
  if (h.top_k > 0) {
    chunk.classes = top_k_classes(z, h.top_k);
  } else {
    chunk.logits = z;
  }
  for (double t : h.temperatures) {
    torch::Tensor p = torch::softmax(z / t, 2);
    // A temperature so small that z / t overflows (1e-45) gives NaN, not a distribution.
    check<ConfigError>(torch::isfinite(p).all().item<bool>(), "--temperatures: T=", exact_text(t),
                       " turns the teacher's logits (up to ",
                       exact_text(z.abs().max().item<double>()),
                       " in size) into non-finite probabilities; use a larger temperature");
    chunk.probs.push_back(h.top_k > 0 ? p.gather(2, chunk.classes) : p);
  }
  chunk.labels = labels_in;
  copy_chunk(k, chunk);
}

void LogitCacheWriter::copy_chunk(int64_t k, const CacheChunk& chunk) {
  Impl& m = *impl_;
  TORCH_CHECK(k == m.done, "cache chunks are written in order: expected chunk ", m.done, ", got ",
              k);
  const int64_t begin = k * m.header.chunk;
  const int64_t n = std::min(m.header.chunk, m.header.n - begin);
  const std::vector<int64_t> shape{m.header.v, n, m.header.row_width()};
  TORCH_CHECK(chunk.probs.size() == m.header.temperatures.size(), "chunk ", k, ": ",
              chunk.probs.size(), " probabilities for ", m.header.temperatures.size(),
              " temperatures");
  const std::vector<hsize_t> start{0, static_cast<hsize_t>(begin), 0};
  const std::vector<hsize_t> count{static_cast<hsize_t>(m.header.v), static_cast<hsize_t>(n),
                                   static_cast<hsize_t>(m.header.row_width())};
  const torch::ScalarType stored = tensor_type(m.header);
  if (m.header.top_k > 0) {
    TORCH_CHECK(chunk.classes.sizes() == torch::IntArrayRef(shape), "chunk ", k,
                " classes have shape ", chunk.classes.sizes());
    const torch::Tensor idx = chunk.classes.to(torch::kCPU, torch::kInt32).contiguous();
    h5::write_block(m.indices, H5T_NATIVE_INT32, start, count, idx.data_ptr(), m.partial,
                    std::string("writing ") + CacheHeader::kTopKIndicesPath);
  } else {
    TORCH_CHECK(chunk.logits.sizes() == torch::IntArrayRef(shape), "chunk ", k,
                " logits have shape ", chunk.logits.sizes());
    const torch::Tensor zs = chunk.logits.to(torch::kCPU).to(stored).contiguous();
    h5::write_block(m.logits, m.mem_type(), start, count, zs.data_ptr(), m.partial,
                    "writing /logits");
  }
  for (std::size_t i = 0; i < chunk.probs.size(); ++i) {
    TORCH_CHECK(chunk.probs[i].sizes() == torch::IntArrayRef(shape), "chunk ", k,
                " probabilities have shape ", chunk.probs[i].sizes());
    const torch::Tensor p = chunk.probs[i].to(torch::kCPU).to(stored).contiguous();
    h5::write_block(m.probs[i], m.mem_type(), start, count, p.data_ptr(), m.partial,
                    "writing " + CacheHeader::probs_path(m.header.temperatures[i]));
  }
  const torch::Tensor y = chunk.labels.to(torch::kCPU, torch::kInt64).contiguous();
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
  m.close();
  std::error_code ec;
  fs::rename(m.partial, m.final_path, ec);
  check<StorageError>(!ec, "renaming ", m.partial.string(), " to ", m.final_path.string(), ": ",
                      ec.message());
  m.lock->release_and_remove();
}

void LogitCacheWriter::discard() {
  Impl& m = *impl_;
  m.close();
  std::error_code ignored;
  fs::remove(m.partial, ignored);
  m.lock->release_and_remove();
}

}  // namespace kd
