#include "tests/support/weights.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "lib/models/zoo.h"

namespace kd::testing {

double relative_difference(const std::filesystem::path& a, const std::filesystem::path& b) {
  const auto pa = load_model(a).model->parameters();
  const auto pb = load_model(b).model->parameters();
  EXPECT_EQ(pa.size(), pb.size());
  double worst = 0;
  for (std::size_t i = 0; i < pa.size() && i < pb.size(); ++i) {
    const double scale = pb[i].abs().max().item<double>();
    worst = std::max(worst, (pa[i] - pb[i]).abs().max().item<double>() / scale);
  }
  return worst;
}

}  // namespace kd::testing
