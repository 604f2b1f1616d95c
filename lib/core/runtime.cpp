#include "lib/core/runtime.h"

#include <sched.h>

#include <ctime>
#include <thread>

#include "lib/core/error.h"
#include "lib/core/version.h"

namespace kd {

int available_cores() {
  // The CPUs this process may run on: a cluster job, a container or `taskset` gets fewer than
  // the machine has, and threads beyond them only contend.
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

const char* version() { return KD_VERSION; }

std::string utc_timestamp() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  ::gmtime_r(&now, &utc);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buf;
}

}  // namespace kd
