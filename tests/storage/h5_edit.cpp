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
