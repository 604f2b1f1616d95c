#include "storage/h5.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <mutex>
#include <sstream>

#include "lib/core/crash_guard.h"
#include "lib/core/error.h"
#include "storage/h5_process.h"

namespace kd::h5 {

namespace fs = std::filesystem;

Handle& Handle::operator=(Handle&& o) noexcept {
  if (this != &o) {
    reset();
    id_ = o.id_;
    close_ = o.close_;
    o.id_ = H5I_INVALID_HID;
  }
  return *this;
}

void Handle::reset() {
  if (id_ >= 0 && close_) close_(id_);
  id_ = H5I_INVALID_HID;
}

void quiet_errors() {
  thread_local bool quiet = false;
  if (!quiet) H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr), quiet = true;
}

namespace {

herr_t innermost(unsigned n, const H5E_error2_t* err, void* out) {
  if (n == 0 && err->desc) *static_cast<std::string*>(out) = err->desc;
  return 0;
}

// HDF5's innermost message reduced to its meaning: a failed system call's description holds a
// time, a descriptor and buffer addresses around the one part a user needs, the system's reason.
std::string meaning(const std::string& detail) {
  const std::string key = "error message = '";
  const auto at = detail.find(key);
  if (at == std::string::npos) return detail.substr(0, detail.find('\n'));
  const auto start = at + key.size();
  return detail.substr(start, detail.find('\'', start) - start);
}

[[noreturn]] void fail(const fs::path& file, const std::string& what) {
  std::string detail;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost, &detail);
  H5Eclear2(H5E_DEFAULT);
  throw StorageError(file.string() + ": " + what +
                     (detail.empty() ? "" : " (" + meaning(detail) + ")"));
}

}  // namespace

void require(herr_t status, const fs::path& file, const std::string& what) {
  if (status < 0) fail(file, what);
}

hid_t require_id(hid_t id, const fs::path& file, const std::string& what) {
  if (id < 0) fail(file, what);
  return id;
}

Handle checked(hid_t id, herr_t (*close)(hid_t), const fs::path& file, const std::string& what) {
  return {require_id(id, file, what), close};
}

Handle create_file(const fs::path& path) {
  quiet_errors();
  // The HDF5 1.8 file format (readable by any HDF5 since 2008, h5py included): it stores an
  // attribute over 64 KiB outside the object header (class_names of 40,000 classes are 640 KiB of
  // string references), which the earliest format refuses.
  const Handle access = checked(H5Pcreate(H5P_FILE_ACCESS), H5Pclose, path, "file access list");
  require(H5Pset_libver_bounds(access.get(), H5F_LIBVER_V18, H5F_LIBVER_V18), path,
          "setting the file format");
  return {require_id(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, access.get()), path,
                     "cannot create HDF5 file"),
          H5Fclose};
}

Handle open_file(const fs::path& path, bool writable) {
  quiet_errors();
  check<StorageError>(fs::is_regular_file(path), path.string(), ": no such file");
  if (H5Fis_hdf5(path.c_str()) <= 0) {
    H5Eclear2(H5E_DEFAULT);
    throw StorageError(path.string() + ": not an HDF5 file, or truncated");
  }
  return {require_id(H5Fopen(path.c_str(), writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY, H5P_DEFAULT),
                     path, "cannot open HDF5 file (truncated or damaged?)"),
          H5Fclose};
}

void flush(const Handle& file, const fs::path& path) {
  require(H5Fflush(file.get(), H5F_SCOPE_GLOBAL), path, "flushing to disk");
}

Handle half_type() {
  quiet_errors();
  const fs::path none = "(float16 type)";
  Handle t = checked(H5Tcopy(H5T_IEEE_F32LE), H5Tclose, none, "copying a type");
  require(H5Tset_fields(t.get(), 15, 10, 5, 0, 10), none, "setting fields");
  require(H5Tset_size(t.get(), 2), none, "setting the size");
  require(H5Tset_ebias(t.get(), 15), none, "setting the exponent bias");
  return t;
}

Handle create_dataset(hid_t loc, const std::string& name, hid_t type, const DatasetSpec& spec,
                      const fs::path& file) {
  quiet_errors();
  const int rank = static_cast<int>(spec.shape.size());
  Handle space(require_id(H5Screate_simple(rank, spec.shape.data(), nullptr), file, "dataspace"),
               H5Sclose);
  Handle props = checked(H5Pcreate(H5P_DATASET_CREATE), H5Pclose, file, "creation properties");
  if (!spec.chunk.empty()) {
    require(H5Pset_chunk(props.get(), rank, spec.chunk.data()), file, "chunking " + name);
    if (spec.deflate > 0) {
      require(H5Pset_shuffle(props.get()), file, "shuffle filter for " + name);
      require(H5Pset_deflate(props.get(), static_cast<unsigned>(spec.deflate)), file,
              "deflate filter for " + name);
    } else {
      require(H5Pset_alloc_time(props.get(), H5D_ALLOC_TIME_EARLY), file, "allocating " + name);
    }
    if (spec.checksum) require(H5Pset_fletcher32(props.get()), file, "checksum filter for " + name);
  }
  Handle links = checked(H5Pcreate(H5P_LINK_CREATE), H5Pclose, file, "link properties");
  require(H5Pset_create_intermediate_group(links.get(), 1), file, "link properties");
  return {require_id(H5Dcreate2(loc, name.c_str(), type, space.get(), links.get(), props.get(),
                                H5P_DEFAULT),
                     file, "creating dataset " + name),
          H5Dclose};
}

Handle open_dataset(hid_t loc, const std::string& name, const fs::path& file) {
  quiet_errors();
  check<StorageError>(exists(loc, name), file.string(), ": dataset ", name, " is missing");
  return {require_id(H5Dopen2(loc, name.c_str(), H5P_DEFAULT), file, "opening dataset " + name),
          H5Dclose};
}

bool exists(hid_t loc, const std::string& name) {
  quiet_errors();
  if (name.empty()) return false;
  // Check each path component: H5Lexists fails on a missing intermediate group.
  std::string prefix;
  std::size_t start = name.front() == '/' ? 1 : 0;
  while (start <= name.size()) {
    const std::size_t slash = name.find('/', start);
    prefix = name.substr(0, slash);
    if (H5Lexists(loc, prefix.c_str(), H5P_DEFAULT) <= 0) {
      H5Eclear2(H5E_DEFAULT);
      return false;
    }
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return true;
}

void move_link(hid_t loc, const std::string& from, const std::string& to, const fs::path& file) {
  check<StorageError>(exists(loc, from), file.string(), ": ", from, " is missing");
  check<StorageError>(!exists(loc, to), file.string(), ": ", to, " exists already");
  require(H5Lmove(loc, from.c_str(), loc, to.c_str(), H5P_DEFAULT, H5P_DEFAULT), file,
          "renaming " + from + " to " + to);
}

std::vector<hsize_t> shape(const Handle& dataset, const fs::path& file) {
  Handle space(require_id(H5Dget_space(dataset.get()), file, "reading a shape"), H5Sclose);
  const int rank = H5Sget_simple_extent_ndims(space.get());
  std::vector<hsize_t> dims(static_cast<std::size_t>(std::max(rank, 0)));
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  return dims;
}

namespace {
constexpr double kMaxStructureMemoryMb = 512;
}  // namespace

std::string reading_problem(const std::function<void()>& read) {
  const TrialEnd end = try_in_child(read, std::chrono::seconds(30));
  if (end.kind == TrialEnd::refused) rethrow_refusal(end);
  // Reading a kdpipe file's structure takes a few MB. Far more means libhdf5 trusted a damaged
  // size (a 2 GB string declared in a 22 KB file, found by fuzzing): refused before it is read
  // here.
  if (end.memory_growth_mb > kMaxStructureMemoryMb) {
    char grew[64];
    std::snprintf(grew, sizeof grew, "%.0f MB", end.memory_growth_mb);
    return std::string("damaged HDF5 file: reading its structure took ") + grew +
           " of memory (the file declares sizes it cannot hold)";
  }
  if (end.kind == TrialEnd::finished) return "";
  return std::string("damaged HDF5 file: the HDF5 library ") +
         (end.kind == TrialEnd::crashed ? "crashed" : "hung") + " reading its structure (" +
         end.how + ")";
}

std::string missing_data(const Handle& dataset, const fs::path& file) {
  Handle type = checked(H5Dget_type(dataset.get()), H5Tclose, file, "dataset type");
  double declared = static_cast<double>(H5Tget_size(type.get()));
  for (hsize_t d : shape(dataset, file)) declared *= static_cast<double>(d);
  const auto stored = static_cast<double>(H5Dget_storage_size(dataset.get()));
  Handle props = checked(H5Dget_create_plist(dataset.get()), H5Pclose, file, "dataset properties");
  bool compressed = false;
  for (int i = 0, n = H5Pget_nfilters(props.get()); i < n; ++i) {
    unsigned flags = 0;
    std::size_t values = 0;
    const H5Z_filter_t filter = H5Pget_filter2(props.get(), static_cast<unsigned>(i), &flags,
                                               &values, nullptr, 0, nullptr, nullptr);
    compressed = compressed || (filter != H5Z_FILTER_FLETCHER32 && filter != H5Z_FILTER_SHUFFLE);
  }
  if (compressed ? declared <= 1100 * stored + (1 << 20) : declared <= stored) return "";
  if (H5Pget_layout(props.get()) == H5D_CHUNKED) {
    const std::vector<hsize_t> dims = shape(dataset, file);
    std::vector<hsize_t> chunk(dims.size());
    H5Pget_chunk(props.get(), static_cast<int>(chunk.size()), chunk.data());
    double chunks = 1;
    for (std::size_t d = 0; d < dims.size(); ++d)
      chunks *= std::ceil(static_cast<double>(dims[d]) /
                          static_cast<double>(std::max<hsize_t>(1, chunk[d])));
    hsize_t written = 0;
    // HDF5 1.10 takes the dataset's own space here, not H5S_ALL.
    const Handle space = checked(H5Dget_space(dataset.get()), H5Sclose, file, "dataset space");
    if (H5Dget_num_chunks(dataset.get(), space.get(), &written) >= 0 &&
        static_cast<double>(written) < chunks) {
      std::ostringstream out;
      out << "only " << written << " of its " << std::setprecision(15) << chunks
          << " chunks were ever written (a writer that stopped early? HDF5 would read the others "
             "as zeros)";
      return out.str();
    }
  } else if (stored == 0) {
    return "its data were never written";
  }
  return "the file holds far fewer bytes (damaged)";
}

int64_t storage_bytes(const Handle& dataset) {
  return static_cast<int64_t>(H5Dget_storage_size(dataset.get()));
}

std::string shape_text(const std::vector<hsize_t>& shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

std::pair<H5T_class_t, std::size_t> stored_type(const Handle& dataset, const fs::path& file) {
  Handle type(require_id(H5Dget_type(dataset.get()), file, "reading a type"), H5Tclose);
  return {H5Tget_class(type.get()), H5Tget_size(type.get())};
}

bool stored_signed(const Handle& dataset, const fs::path& file) {
  Handle type(require_id(H5Dget_type(dataset.get()), file, "reading a type"), H5Tclose);
  return H5Tget_class(type.get()) == H5T_INTEGER && H5Tget_sign(type.get()) == H5T_SGN_2;
}

namespace {
Handle select_block(const Handle& dataset, const std::vector<hsize_t>& start,
                    const std::vector<hsize_t>& count, const fs::path& file,
                    const std::string& what) {
  quiet_errors();  // the TBB writer thread calls here first
  Handle space(require_id(H5Dget_space(dataset.get()), file, what), H5Sclose);
  require(H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(),
                              nullptr),
          file, what + ": block out of range");
  return space;
}
}  // namespace

void write_block(const Handle& dataset, hid_t mem_type, const std::vector<hsize_t>& start,
                 const std::vector<hsize_t>& count, const void* data, const fs::path& file,
                 const std::string& what) {
  Handle file_space = select_block(dataset, start, count, file, what);
  Handle mem_space =
      checked(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr), H5Sclose,
              file, what + ": memory dataspace");
  require(H5Dwrite(dataset.get(), mem_type, mem_space.get(), file_space.get(), H5P_DEFAULT, data),
          file, what);
}

void read_block(const Handle& dataset, hid_t mem_type, const std::vector<hsize_t>& start,
                const std::vector<hsize_t>& count, void* data, const fs::path& file,
                const std::string& what) {
  Handle file_space = select_block(dataset, start, count, file, what);
  Handle mem_space =
      checked(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr), H5Sclose,
              file, what + ": memory dataspace");
  require(H5Dread(dataset.get(), mem_type, mem_space.get(), file_space.get(), H5P_DEFAULT, data),
          file, what);
}

}  // namespace kd::h5

namespace kd {

void exit_now_if_hdf5_files_open(int status) {
  if (H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_FILE) <= 0) return;
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
  std::_Exit(status);
}

}  // namespace kd
