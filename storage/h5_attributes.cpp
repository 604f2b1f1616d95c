#include <algorithm>

#include "lib/core/error.h"
#include "storage/h5.h"

// Attributes: the strings, numbers and lists kdpipe files carry on their root and datasets.
namespace kd::h5 {

namespace fs = std::filesystem;

namespace {

void replace_attr(hid_t obj, const std::string& name, hid_t type, hid_t space, const void* data,
                  const fs::path& file) {
  quiet_errors();
  if (H5Aexists(obj, name.c_str()) > 0) {
    require(H5Adelete(obj, name.c_str()), file, "replacing attribute " + name);
  }
  Handle attr(require_id(H5Acreate2(obj, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT), file,
                         "creating attribute " + name),
              H5Aclose);
  require(H5Awrite(attr.get(), type, data), file, "writing attribute " + name);
}

Handle open_attr(hid_t obj, const std::string& name, const fs::path& file) {
  quiet_errors();
  check<StorageError>(H5Aexists(obj, name.c_str()) > 0, file.string(), ": attribute '", name,
                      "' is missing");
  return {require_id(H5Aopen(obj, name.c_str(), H5P_DEFAULT), file, "opening attribute " + name),
          H5Aclose};
}

// Variable-length UTF-8 strings: what h5py writes for a list of Python str.
Handle utf8_type(const fs::path& file) {
  Handle type = checked(H5Tcopy(H5T_C_S1), H5Tclose, file, "string type");
  require(H5Tset_size(type.get(), H5T_VARIABLE), file, "string type");
  require(H5Tset_cset(type.get(), H5T_CSET_UTF8), file, "string type");
  return type;
}

H5T_class_t attr_class(const Handle& attr, const fs::path& file) {
  Handle type = checked(H5Aget_type(attr.get()), H5Tclose, file, "attribute type");
  return H5Tget_class(type.get());
}

// kdpipe's attributes are small: a damaged file may declare any count or string size, and nothing
// is allocated from a declaration past these.
constexpr hssize_t kMaxAttrValues = 1 << 20;
constexpr std::size_t kMaxAttrBytes = std::size_t{64} << 20;

// How many values the attribute holds (0 for an empty list), within kMaxAttrValues.
std::size_t attr_values(const Handle& attr, const std::string& name, const fs::path& file) {
  Handle space = checked(H5Aget_space(attr.get()), H5Sclose, file, "attribute dataspace");
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  check<StorageError>(n >= 0 && n <= kMaxAttrValues, file.string(), ": attribute '", name,
                      "' holds ", n, " values, more than any kdpipe file");
  return static_cast<std::size_t>(n);
}

// The attribute, which must hold exactly one value (what a read into one variable assumes).
Handle open_single(hid_t obj, const std::string& name, const fs::path& file) {
  Handle attr = open_attr(obj, name, file);
  const std::size_t n = attr_values(attr, name, file);
  check<StorageError>(n == 1, file.string(), ": attribute '", name,
                      "' should hold one value, holds ", n);
  return attr;
}

// The byte size of one fixed-length string of `type`, within kMaxAttrBytes over `n` values.
std::size_t fixed_string_size(hid_t type, std::size_t n, const std::string& name,
                              const fs::path& file) {
  const std::size_t size = H5Tget_size(type);
  check<StorageError>(size > 0 && size * std::max<std::size_t>(n, 1) <= kMaxAttrBytes,
                      file.string(), ": attribute '", name, "' declares strings of ", size,
                      " bytes, more than any kdpipe file");
  return size;
}

}  // namespace

void set_attr(hid_t obj, const std::string& name, const std::string& value, const fs::path& file) {
  // Variable-length UTF-8: what h5py reads back as a Python str.
  const Handle type = utf8_type(file);
  Handle space = checked(H5Screate(H5S_SCALAR), H5Sclose, file, "attribute dataspace");
  const char* text = value.c_str();
  replace_attr(obj, name, type.get(), space.get(), &text, file);
}

void set_attr(hid_t obj, const std::string& name, double value, const fs::path& file) {
  Handle space = checked(H5Screate(H5S_SCALAR), H5Sclose, file, "attribute dataspace");
  replace_attr(obj, name, H5T_NATIVE_DOUBLE, space.get(), &value, file);
}

void set_attr(hid_t obj, const std::string& name, int64_t value, const fs::path& file) {
  Handle space = checked(H5Screate(H5S_SCALAR), H5Sclose, file, "attribute dataspace");
  replace_attr(obj, name, H5T_NATIVE_INT64, space.get(), &value, file);
}

void set_attr(hid_t obj, const std::string& name, const std::vector<double>& value,
              const fs::path& file) {
  const hsize_t n = value.size();
  Handle space = checked(n == 0 ? H5Screate(H5S_NULL) : H5Screate_simple(1, &n, nullptr), H5Sclose,
                         file, "attribute dataspace");
  replace_attr(obj, name, H5T_NATIVE_DOUBLE, space.get(), value.data(), file);
}

bool has_attr(hid_t obj, const std::string& name) {
  quiet_errors();
  return H5Aexists(obj, name.c_str()) > 0;
}

std::string get_string(hid_t obj, const std::string& name, const fs::path& file) {
  Handle attr = open_single(obj, name, file);
  check<StorageError>(attr_class(attr, file) == H5T_STRING, file.string(), ": attribute '", name,
                      "' should be a string");
  Handle type = checked(H5Aget_type(attr.get()), H5Tclose, file, "attribute type");
  if (H5Tis_variable_str(type.get()) > 0) {
    Handle mem = checked(H5Tcopy(H5T_C_S1), H5Tclose, file, "string type");
    require(H5Tset_size(mem.get(), H5T_VARIABLE), file, "string type");
    require(H5Tset_cset(mem.get(), H5Tget_cset(type.get())), file, "string type");
    char* text = nullptr;
    require(H5Aread(attr.get(), mem.get(), &text), file, "reading attribute " + name);
    std::string value = text ? text : "";
    H5free_memory(text);
    return value;
  }
  std::string value(fixed_string_size(type.get(), 1, name, file), '\0');
  require(H5Aread(attr.get(), type.get(), value.data()), file, "reading attribute " + name);
  return value.substr(0, value.find('\0'));
}

double get_double(hid_t obj, const std::string& name, const fs::path& file) {
  Handle attr = open_single(obj, name, file);
  check<StorageError>(attr_class(attr, file) == H5T_FLOAT || attr_class(attr, file) == H5T_INTEGER,
                      file.string(), ": attribute '", name, "' should be a number");
  double value = 0;
  require(H5Aread(attr.get(), H5T_NATIVE_DOUBLE, &value), file, "reading attribute " + name);
  return value;
}

int64_t get_int(hid_t obj, const std::string& name, const fs::path& file) {
  Handle attr = open_single(obj, name, file);
  check<StorageError>(attr_class(attr, file) == H5T_INTEGER, file.string(), ": attribute '", name,
                      "' should be an integer");
  int64_t value = 0;
  require(H5Aread(attr.get(), H5T_NATIVE_INT64, &value), file, "reading attribute " + name);
  return value;
}

std::vector<double> get_doubles(hid_t obj, const std::string& name, const fs::path& file) {
  Handle attr = open_attr(obj, name, file);
  std::vector<double> value(attr_values(attr, name, file));
  if (!value.empty()) {
    check<StorageError>(
        attr_class(attr, file) == H5T_FLOAT || attr_class(attr, file) == H5T_INTEGER, file.string(),
        ": attribute '", name, "' should be numbers");
    require(H5Aread(attr.get(), H5T_NATIVE_DOUBLE, value.data()), file,
            "reading attribute " + name);
  }
  return value;
}

void set_attr(hid_t obj, const std::string& name, const std::vector<std::string>& value,
              const fs::path& file) {
  const hsize_t n = value.size();
  Handle space = checked(n == 0 ? H5Screate(H5S_NULL) : H5Screate_simple(1, &n, nullptr), H5Sclose,
                         file, "attribute dataspace");
  std::vector<const char*> texts;
  for (const std::string& v : value) texts.push_back(v.c_str());
  const Handle type = utf8_type(file);
  replace_attr(obj, name, type.get(), space.get(), texts.data(), file);
}

std::vector<std::string> get_strings(hid_t obj, const std::string& name, const fs::path& file) {
  Handle attr = open_attr(obj, name, file);
  check<StorageError>(attr_class(attr, file) == H5T_STRING, file.string(), ": attribute '", name,
                      "' should be a list of strings");
  const std::size_t n = attr_values(attr, name, file);
  std::vector<std::string> out;
  Handle type = checked(H5Aget_type(attr.get()), H5Tclose, file, "attribute type");
  if (H5Tis_variable_str(type.get()) > 0) {
    Handle mem = checked(H5Tcopy(H5T_C_S1), H5Tclose, file, "string type");
    require(H5Tset_size(mem.get(), H5T_VARIABLE), file, "string type");
    require(H5Tset_cset(mem.get(), H5Tget_cset(type.get())), file, "string type");
    // HDF5 allocates each string; they are ours to free, also those a read that then failed
    // (a damaged heap) has already filled in.
    std::vector<char*> texts(n, nullptr);
    struct FreeTexts {
      std::vector<char*>& texts;
      ~FreeTexts() {
        for (char* t : texts) H5free_memory(t);
      }
    } free_texts{texts};
    if (n > 0) require(H5Aread(attr.get(), mem.get(), texts.data()), file, "reading " + name);
    for (char* t : texts) out.emplace_back(t ? t : "");
    return out;
  }
  // Fixed-length strings (numpy's S dtype): n records of `size` bytes, NUL-padded or not.
  const std::size_t size = fixed_string_size(type.get(), n, name, file);
  std::string bytes(size * n, '\0');
  if (n > 0) require(H5Aread(attr.get(), type.get(), bytes.data()), file, "reading " + name);
  for (std::size_t i = 0; i < n; ++i) {
    std::string one = bytes.substr(i * size, size);
    out.push_back(one.substr(0, one.find('\0')));
  }
  return out;
}

}  // namespace kd::h5
