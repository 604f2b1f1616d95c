#include "tests/support/limits.h"

#include "tests/support/process.h"

namespace kd::testing {

std::string limited_kdpipe_command(std::size_t limit, const std::string& args) {
  return "ulimit -v " + std::to_string(limit / 1024) + " && exec " + kdpipe_binary().string() +
         " " + args;
}

}  // namespace kd::testing
