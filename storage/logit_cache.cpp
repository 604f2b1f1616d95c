#include "storage/logit_cache.h"

#include <cmath>
#include <sstream>

#include "lib/core/error.h"
#include "lib/core/files.h"
#include "lib/core/work_ledger.h"
#include "storage/cache_header_h5.h"
#include "storage/h5.h"

namespace kd {

namespace fs = std::filesystem;

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
    return read_rows(name, view_begin, views, 0, header.n, finite_only);
  }

  // The same, of examples [row_begin, row_begin + rows) only.
  torch::Tensor read_rows(const std::string& name, int64_t view_begin, int64_t views,
                          int64_t row_begin, int64_t rows, bool finite_only = true) const {
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
    torch::Tensor out = torch::empty({views, rows, header.c}, type);
    h5::read_block(
        ds, type == torch::kHalf ? half.get() : H5T_NATIVE_FLOAT,
        {static_cast<hsize_t>(view_begin), static_cast<hsize_t>(row_begin), 0},
        {static_cast<hsize_t>(views), static_cast<hsize_t>(rows), static_cast<hsize_t>(header.c)},
        out.data_ptr(), path, "reading " + name);
    const int64_t bad =
        finite_only ? torch::logical_not(torch::isfinite(out)).sum().item<int64_t>() : 0;
    check<StorageError>(bad == 0, path.string(), ": ", name, " holds ", bad,
                        " non-finite values (NaN or infinity): a damaged cache, or a teacher that "
                        "diverged; `kdpipe inspect` shows more");
    return out.to(torch::kFloat32);
  }

  // Opens the file and checks its header and every dataset's shape.
  void open() {
    file = h5::open_file(path, /*writable=*/false);
    half = h5::half_type();
    header = read_header(file.get(), path);
    // Shapes first: an attribute that disagrees with the datasets (N = 1e12) is damage, and
    // would otherwise read as a file whose chunks are not all written.
    const hsize_t v = header.v, n = header.n, c = header.c;
    expect_shape("/logits", {v, n, c});
    for (double t : header.temperatures) expect_shape(CacheHeader::probs_path(t), {v, n, c});
    expect_shape("/labels", {n});
    if (h5::has_attr(file.get(), kChunksDone)) {
      const int64_t done = h5::get_int(file.get(), kChunksDone, path);
      check<StorageError>(done == chunk_count_of(header), path.string(),
                          ": field 'chunks_done' is ", done, ", a complete cache has ",
                          chunk_count_of(header), " (an unfinished file)");
    }
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
    check<StorageError>(h5::holds_its_data(ds, path), path.string(), ": dataset ", name,
                        " declares ", show(got),
                        " but the file holds far fewer bytes (truncated or damaged)");
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
  return impl_->read("/logits", 0, impl_->header.v);
}

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
  check<StorageError>(h.shard_count == 0, file, ": shard ", h.shard_index, "/", h.shard_count,
                      " of a cache (examples ", h.first_example, " to ", h.first_example + h.n,
                      "), not a whole one: join the shards with kdpipe cache-merge");
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
  const CacheHeader& h = impl_->header;
  // Block by block, so memory stays bounded whatever N the file declares (a few KB of compressed
  // zeros can declare millions of rows).
  const int64_t block = std::max<int64_t>(1, (int64_t{1} << 21) / std::max<int64_t>(1, h.v * h.c));
  const double tol = h.dtype == "float16" ? 2e-3 : 1e-5;
  int64_t bad = 0;
  std::vector<double> worst(h.temperatures.size(), 0.0);
  std::vector<std::string> unreadable(h.temperatures.size());
  for (int64_t first = 0; first < h.n; first += block) {
    const int64_t rows = std::min(block, h.n - first);
    torch::Tensor z;
    try {
      z = impl_->read_rows("/logits", 0, h.v, first, rows, /*finite_only=*/false);
    } catch (const StorageError& e) {
      return {e.what()};
    }
    bad += (~torch::isfinite(z)).sum().item<int64_t>();
    for (std::size_t k = 0; k < h.temperatures.size(); ++k) {
      if (!unreadable[k].empty()) continue;
      const double t = h.temperatures[k];
      try {
        const torch::Tensor p = impl_->read_rows(CacheHeader::probs_path(t), 0, h.v, first, rows,
                                                 /*finite_only=*/false);
        const torch::Tensor want = torch::softmax(z.to(torch::kFloat64) / t, 2);
        const double err = (p.to(torch::kFloat64) - want).abs().max().item<double>();
        worst[k] = std::isnan(err) ? err : std::max(worst[k], err);  // NaN stays
      } catch (const StorageError& e) {
        unreadable[k] = e.what();
      }
    }
  }
  std::vector<std::string> problems;
  if (bad > 0) problems.push_back("/logits: " + std::to_string(bad) + " values are NaN or Inf");
  for (std::size_t k = 0; k < h.temperatures.size(); ++k) {
    if (!unreadable[k].empty()) {
      problems.push_back(unreadable[k]);
    } else if (!(worst[k] <= tol)) {
      const double t = h.temperatures[k];
      std::ostringstream msg;
      msg << CacheHeader::probs_path(t) << ": differs from softmax(logits / " << t << ") by up to "
          << worst[k] << " (tolerance " << tol << ")";
      problems.push_back(msg.str());
    }
  }
  for (int64_t first = 0; first < h.n; first += block * h.v * h.c) {
    const int64_t rows = std::min(block * h.v * h.c, h.n - first);
    const h5::Handle ds = h5::open_dataset(impl_->file.get(), "/labels", impl_->path);
    torch::Tensor y = torch::empty({rows}, torch::kInt64);
    h5::read_block(ds, H5T_NATIVE_INT64, {static_cast<hsize_t>(first)},
                   {static_cast<hsize_t>(rows)}, y.data_ptr<int64_t>(), impl_->path,
                   "reading /labels");
    if (y.min().item<int64_t>() < 0 || y.max().item<int64_t>() >= h.c) {
      problems.push_back("/labels: values outside [0, " + std::to_string(h.c) + ")");
      break;
    }
  }
  return problems;
}

}  // namespace kd
