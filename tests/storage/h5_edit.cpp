#include "tests/storage/h5_edit.h"

#include <cctype>

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
