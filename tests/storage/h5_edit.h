// Test-only: overwrite one root attribute of an HDF5 file, to make caches of another format or
// version without a second writer.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace kd::testing {

/// Sets root attribute `name` to `value` (stored as an integer when it parses as one).
void set_h5_attribute(const std::filesystem::path& file, const std::string& name,
                      const std::string& value);

}  // namespace kd::testing

namespace kd::testing {

/// Overwrites element [0, 0, 0] of a 3-d float dataset (e.g. "/logits") with `value`.
void set_first_value(const std::filesystem::path& file, const std::string& dataset, float value);

}  // namespace kd::testing

namespace kd::testing {

/// Rewrites `dataset` with its values stored as 32-bit integers (a cache damaged in its types).
void store_as_int32(const std::filesystem::path& file, const std::string& dataset);

}  // namespace kd::testing

namespace kd::testing {

/// Flips the lowest bit of byte `at` of the first chunk of `dataset` as stored in the file, as a
/// disk or a copy might: the number stays finite, only a checksum can tell.
void flip_stored_bit(const std::filesystem::path& file, const std::string& dataset, int64_t at);

}  // namespace kd::testing

namespace kd::testing {

/// Sets root attribute `name` to the text `value`, whatever it looks like.
void set_h5_text_attribute(const std::filesystem::path& file, const std::string& name,
                           const std::string& value);

/// Renames a dataset or group of the file.
void rename_h5_object(const std::filesystem::path& file, const std::string& from,
                      const std::string& to);

}  // namespace kd::testing

namespace kd::testing {

/// Overwrites row [view, example, :] of a 3-d dataset with `values` (converted to its type).
void set_row(const std::filesystem::path& file, const std::string& dataset, int64_t view,
             int64_t example, const std::vector<double>& values);

}  // namespace kd::testing
