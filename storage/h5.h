// The one place kdpipe talks to the HDF5 C library: RAII handles, and every call's status turned
// into a StorageError that names the file and what was being done. Used only inside storage/.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace kd::h5 {

/// An owned HDF5 identifier, closed with the matching H5*close when destroyed.
class Handle {
 public:
  Handle() = default;
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  ~Handle() { reset(); }
  Handle(Handle&& o) noexcept : id_(o.id_), close_(o.close_) { o.id_ = H5I_INVALID_HID; }
  Handle& operator=(Handle&& o) noexcept;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  hid_t get() const { return id_; }
  explicit operator bool() const { return id_ >= 0; }
  void reset();

 private:
  hid_t id_ = H5I_INVALID_HID;
  herr_t (*close_)(hid_t) = nullptr;
};

/// Silences HDF5's own error printing in the calling thread (errors become exceptions). In a
/// thread-safe HDF5 the setting is per thread, so every entry point below calls it.
void quiet_errors();

/// An owned identifier from an HDF5 call, or StorageError "<file>: <what>" when the call failed.
Handle checked(hid_t id, herr_t (*close)(hid_t), const std::filesystem::path& file,
               const std::string& what);

/// Throws StorageError "<file>: <what>: <HDF5's innermost message>" when status < 0.
void require(herr_t status, const std::filesystem::path& file, const std::string& what);
hid_t require_id(hid_t id, const std::filesystem::path& file, const std::string& what);

Handle create_file(const std::filesystem::path& path);
/// Opens for reading (or writing); StorageError naming the file if it is not a readable HDF5 file.
Handle open_file(const std::filesystem::path& path, bool writable);
void flush(const Handle& file, const std::filesystem::path& path);

/// IEEE float16 as h5py reads it (numpy float16).
Handle half_type();

struct DatasetSpec {
  std::vector<hsize_t> shape;
  std::vector<hsize_t> chunk;  ///< empty: contiguous
  int deflate = 0;             ///< gzip level 0-9 (0: none)
  /// A Fletcher-32 checksum stored with each chunk, checked by HDF5 on every read (chunked only).
  bool checksum = false;
};
/// Creates `name` (intermediate groups included) with file type `type`. Chunks are allocated
/// up front when uncompressed, so later writes change raw data only, never the file's metadata.
Handle create_dataset(hid_t loc, const std::string& name, hid_t type, const DatasetSpec& spec,
                      const std::filesystem::path& file);
Handle open_dataset(hid_t loc, const std::string& name, const std::filesystem::path& file);
bool exists(hid_t loc, const std::string& name);
/// Renames the object at `from` to `to` in the same file; StorageError naming `file` otherwise.
void move_link(hid_t loc, const std::string& from, const std::string& to,
               const std::filesystem::path& file);
std::vector<hsize_t> shape(const Handle& dataset, const std::filesystem::path& file);
/// "" when the file holds the bytes the dataset declares: all of them when stored as is, at least
/// 1/1100 of them when compressed (deflate's best ratio is about 1:1030). Otherwise what is
/// missing, to follow "declares [shape] but ": the chunks never written (a writer that stopped
/// early; HDF5 would read them as zeros), or bytes a damaged file only claims. A damaged file can
/// declare terabytes in a few bytes; a reader checks this before allocating.
std::string missing_data(const Handle& dataset, const std::filesystem::path& file);
/// Bytes the dataset's data take in the file (its chunks, after any compression).
int64_t storage_bytes(const Handle& dataset);
/// Runs `read` (opening `file` and reading its structure: attributes, shapes) first in a forked
/// child, where libhdf5 1.10 crashing or hanging on a damaged file ends only the child. An error
/// `read` threw there is thrown here as it was, the file not read again: libhdf5's error paths
/// leak, and run only in the child. Otherwise returns what happened there, for the caller's
/// error ("" when the child finished: the caller then reads for real).
std::string reading_problem(const std::function<void()>& read);
/// "[60000, 28, 28, 1]", for messages.
std::string shape_text(const std::vector<hsize_t>& shape);
/// HDF5 class and size of a dataset's stored type (e.g. H5T_FLOAT, 4).
std::pair<H5T_class_t, std::size_t> stored_type(const Handle& dataset,
                                                const std::filesystem::path& file);
/// Whether a dataset's stored integers are signed (false for other classes).
bool stored_signed(const Handle& dataset, const std::filesystem::path& file);

/// Writes (reads) the block of `count` elements starting at `start` from (into) `data`, whose
/// memory layout is `mem_type`.
void write_block(const Handle& dataset, hid_t mem_type, const std::vector<hsize_t>& start,
                 const std::vector<hsize_t>& count, const void* data,
                 const std::filesystem::path& file, const std::string& what);
void read_block(const Handle& dataset, hid_t mem_type, const std::vector<hsize_t>& start,
                const std::vector<hsize_t>& count, void* data, const std::filesystem::path& file,
                const std::string& what);

// Attributes on an object (a file's root, or a dataset). Writing replaces an existing one.
void set_attr(hid_t obj, const std::string& name, const std::string& value,
              const std::filesystem::path& file);
void set_attr(hid_t obj, const std::string& name, int64_t value, const std::filesystem::path& file);
void set_attr(hid_t obj, const std::string& name, double value, const std::filesystem::path& file);
void set_attr(hid_t obj, const std::string& name, const std::vector<double>& value,
              const std::filesystem::path& file);
/// A list of variable-length UTF-8 strings (h5py reads it as a list of str).
void set_attr(hid_t obj, const std::string& name, const std::vector<std::string>& value,
              const std::filesystem::path& file);
bool has_attr(hid_t obj, const std::string& name);
/// StorageError naming the file and attribute if it is missing or of another type.
std::string get_string(hid_t obj, const std::string& name, const std::filesystem::path& file);
/// A list of strings, variable-length (h5py's str) or fixed-length (numpy's bytes_).
std::vector<std::string> get_strings(hid_t obj, const std::string& name,
                                     const std::filesystem::path& file);
int64_t get_int(hid_t obj, const std::string& name, const std::filesystem::path& file);
double get_double(hid_t obj, const std::string& name, const std::filesystem::path& file);
std::vector<double> get_doubles(hid_t obj, const std::string& name,
                                const std::filesystem::path& file);

}  // namespace kd::h5
