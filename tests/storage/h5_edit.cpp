#include "tests/storage/h5_edit.h"

#include <cctype>
#include <fstream>
#include <stdexcept>
#include <vector>

#include "storage/h5.h"

namespace kd::testing {

void set_h5_attribute(const std::filesystem::path& file, const std::string& name,
                      const std::string& value) {
  const h5::Handle f = h5::open_file(file, /*writable=*/true);
  const bool numeric = !value.empty() && std::isdigit(static_cast<unsigned char>(value[0]));
  if (numeric) {
    h5::set_attr(f.get(), name, static_cast<int64_t>(std::stoll(value)), file);
  } else {
    h5::set_attr(f.get(), name, value, file);
  }
}

}  // namespace kd::testing

namespace kd::testing {

void set_first_value(const std::filesystem::path& file, const std::string& dataset, float value) {
  const h5::Handle f = h5::open_file(file, /*writable=*/true);
  const h5::Handle ds = h5::open_dataset(f.get(), dataset, file);
  h5::write_block(ds, H5T_NATIVE_FLOAT, {0, 0, 0}, {1, 1, 1}, &value, file, "test edit");
}

}  // namespace kd::testing

namespace kd::testing {

void store_as_int32(const std::filesystem::path& file, const std::string& dataset) {
  const h5::Handle f = h5::open_file(file, /*writable=*/true);
  std::vector<hsize_t> shape;
  std::vector<float> values;
  {
    const h5::Handle ds = h5::open_dataset(f.get(), dataset, file);
    shape = h5::shape(ds, file);
    hsize_t n = 1;
    for (hsize_t d : shape) n *= d;
    values.resize(n);
    h5::read_block(ds, H5T_NATIVE_FLOAT, std::vector<hsize_t>(shape.size(), 0), shape,
                   values.data(), file, "test edit");
  }
  h5::require(H5Ldelete(f.get(), dataset.c_str(), H5P_DEFAULT), file, "test edit");
  const h5::Handle space =
      h5::checked(H5Screate_simple(static_cast<int>(shape.size()), shape.data(), nullptr), H5Sclose,
                  file, "test edit");
  const h5::Handle ds = h5::checked(H5Dcreate2(f.get(), dataset.c_str(), H5T_STD_I32LE, space.get(),
                                               H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                                    H5Dclose, file, "test edit");
  h5::require(H5Dwrite(ds.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()),
              file, "test edit");
}

}  // namespace kd::testing

namespace kd::testing {

void flip_stored_bit(const std::filesystem::path& file, const std::string& dataset, int64_t at) {
  haddr_t address = 0;
  {
    const h5::Handle f = h5::open_file(file, /*writable=*/false);
    const h5::Handle ds = h5::open_dataset(f.get(), dataset, file);
    const h5::Handle space(H5Dget_space(ds.get()), H5Sclose);
    hsize_t chunk_size = 0;
    unsigned filters = 0;
    if (H5Dget_chunk_info(ds.get(), space.get(), 0, nullptr, &filters, &address, &chunk_size) < 0 ||
        at >= static_cast<int64_t>(chunk_size)) {
      throw std::runtime_error(file.string() + ": no chunk 0 of " + dataset + " to damage");
    }
  }
  std::fstream bytes(file, std::ios::in | std::ios::out | std::ios::binary);
  bytes.seekg(static_cast<std::streamoff>(address + static_cast<haddr_t>(at)));
  char b = 0;
  bytes.get(b);
  bytes.seekp(static_cast<std::streamoff>(address + static_cast<haddr_t>(at)));
  bytes.put(static_cast<char>(b ^ 1));
}

}  // namespace kd::testing

namespace kd::testing {

void set_h5_text_attribute(const std::filesystem::path& file, const std::string& name,
                           const std::string& value) {
  const h5::Handle f = h5::open_file(file, /*writable=*/true);
  h5::set_attr(f.get(), name, value, file);
}

void rename_h5_object(const std::filesystem::path& file, const std::string& from,
                      const std::string& to) {
  const h5::Handle f = h5::open_file(file, /*writable=*/true);
  h5::move_link(f.get(), from, to, file);
}

}  // namespace kd::testing

namespace kd::testing {

void set_row(const std::filesystem::path& file, const std::string& dataset, int64_t view,
             int64_t example, const std::vector<double>& values) {
  const h5::Handle f = h5::open_file(file, /*writable=*/true);
  const h5::Handle ds = h5::open_dataset(f.get(), dataset, file);
  h5::write_block(ds, H5T_NATIVE_DOUBLE,
                  {static_cast<hsize_t>(view), static_cast<hsize_t>(example), 0},
                  {1, 1, static_cast<hsize_t>(values.size())}, values.data(), file, "test edit");
}

}  // namespace kd::testing
