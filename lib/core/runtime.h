// What kdpipe knows of its process without LibTorch: the CPUs it may use, its version and the
// time, for the records it writes. Compute settings (threads, devices) are in compute.h.
#pragma once

#include <string>

namespace kd {

/// Number of CPUs this process may run on: its affinity mask, so a cluster job's allocation or a
/// `taskset`, not the whole machine.
int available_cores();

/// kdpipe's version string, recorded in every file it writes.
const char* version();

/// The current time as "YYYY-MM-DDTHH:MM:SSZ" (UTC), for the records kdpipe writes.
std::string utc_timestamp();

}  // namespace kd
