#include "lib/core/runtime.h"

#include <gtest/gtest.h>
#include <sched.h>

namespace kd {
namespace {

// `--threads 0` means every core the process may use: on a cluster node that is the job's
// allocation, not the node.
TEST(Runtime, AvailableCoresFollowsTheAffinityMask) {
  cpu_set_t saved;
  ASSERT_EQ(::sched_getaffinity(0, sizeof saved, &saved), 0);
  EXPECT_EQ(available_cores(), CPU_COUNT(&saved));
  int first = 0;
  while (!CPU_ISSET(first, &saved)) ++first;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(first, &one);
  ASSERT_EQ(::sched_setaffinity(0, sizeof one, &one), 0);
  const int restricted = available_cores();
  ASSERT_EQ(::sched_setaffinity(0, sizeof saved, &saved), 0);
  EXPECT_EQ(restricted, 1);
}

}  // namespace
}  // namespace kd
