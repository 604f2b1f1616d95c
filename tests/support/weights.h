// Comparing two saved models' weights (runs that should agree up to rounding).
#pragma once

#include <filesystem>

namespace kd::testing {

/// The largest difference of the weights of the models saved at `a` and `b` (model.pt files),
/// each tensor's relative to the largest weight of b's tensor.
double relative_difference(const std::filesystem::path& a, const std::filesystem::path& b);

}  // namespace kd::testing
