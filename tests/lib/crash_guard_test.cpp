// try_in_child: a crash or hang in the child is reported, never shared; a kdpipe error comes back
// as it was thrown; a return or another exception is "finished", for the caller to repeat.
#include "lib/core/crash_guard.h"

#include <gtest/gtest.h>

#include <csignal>
#include <stdexcept>
#include <thread>

#include "lib/core/error.h"

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

TEST(CrashGuard, CarriesAKdpipeErrorBackWithItsClassAndMessage) {
  const TrialEnd end = try_in_child([] { throw DataError("images.h5: /train/labels is missing"); },
                                    std::chrono::seconds(10));
  ASSERT_EQ(end.kind, TrialEnd::refused);
  EXPECT_EQ(end.how, "images.h5: /train/labels is missing");
  EXPECT_THROW(rethrow_refusal(end), DataError);
  const TrialEnd storage =
      try_in_child([] { throw StorageError(std::string(100000, 'x')); }, std::chrono::seconds(10));
  ASSERT_EQ(storage.kind, TrialEnd::refused);  // a long message is cut, never blocks the child
  EXPECT_EQ(storage.how.size(), (16u << 10) - 1);
  EXPECT_THROW(rethrow_refusal(storage), StorageError);
}

}  // namespace
}  // namespace kd
