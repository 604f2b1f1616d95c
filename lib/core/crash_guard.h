// Some libraries kdpipe reads files with crash on damaged input instead of reporting it: libhdf5
// 1.10 on a damaged global heap or object header, found by fuzzing (bench/README.md). Reading a
// file's structure first in a forked child turns such a crash, or a hang, into a named error.
#pragma once

#include <chrono>
#include <functional>
#include <string>

namespace kd {

/// How the trial in the child ended.
struct TrialEnd {
  enum Kind { finished, crashed, hung } kind = finished;
  std::string how;  ///< "signal 11 (Segmentation fault)", "exit status 1", "no end in 30 s"
};

/// Runs `trial` in a forked child and waits up to `limit`. `finished` when it returned or threw
/// (the caller repeats the work here, and meets the same error); `crashed` when the child died or
/// exited any other way; `hung` when it outlived `limit` (it is killed). The child shares nothing
/// with this process after the fork: it must only read.
TrialEnd try_in_child(const std::function<void()>& trial, std::chrono::seconds limit);

}  // namespace kd
