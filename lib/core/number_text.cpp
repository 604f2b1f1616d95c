#include "lib/core/number_text.h"

#include <cstdio>
#include <cstdlib>

namespace kd {

std::string exact_text(double v) {
  char buf[40];
  // Six digits first: the form earlier kdpipe versions wrote, so hashes of their stages hold.
  for (int digits = 6; digits <= 17; ++digits) {
    std::snprintf(buf, sizeof buf, "%.*g", digits, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

}  // namespace kd
