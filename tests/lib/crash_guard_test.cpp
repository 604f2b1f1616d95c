// try_in_child: a crash or hang in the child is reported, never shared; a return or a throw is
// "finished", for the caller to repeat the work itself.
#include "lib/core/crash_guard.h"

#include <gtest/gtest.h>

#include <csignal>
#include <stdexcept>
#include <thread>

namespace kd {
namespace {

TEST(CrashGuard, TellsAFinishedTrialFromACrashedOrHungOne) {
  EXPECT_EQ(try_in_child([] {}, std::chrono::seconds(10)).kind, TrialEnd::finished);
  EXPECT_EQ(
      try_in_child([] { throw std::runtime_error("bad file"); }, std::chrono::seconds(10)).kind,
      TrialEnd::finished);
  const TrialEnd crashed = try_in_child([] { std::raise(SIGSEGV); }, std::chrono::seconds(10));
  EXPECT_EQ(crashed.kind, TrialEnd::crashed);
  EXPECT_EQ(crashed.how.rfind("signal 11 (", 0), 0u) << crashed.how;
  const TrialEnd hung = try_in_child([] { std::this_thread::sleep_for(std::chrono::seconds(30)); },
                                     std::chrono::seconds(1));
  EXPECT_EQ(hung.kind, TrialEnd::hung);
  EXPECT_EQ(hung.how, "no end in 1 s");
}

}  // namespace
}  // namespace kd
