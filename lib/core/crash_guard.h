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
  enum Kind { finished, refused, crashed, hung } kind = finished;
  /// crashed, hung: "signal 11 (Segmentation fault)", "out of memory", "no end in 30 s";
  /// refused: the message of the kd::Error the trial threw.
  std::string how;
  /// refused: which kd::Error it was ('D'ata, 'C'onfig, 'S'torage, 'T'raining, 'E'rror).
  char error = 'E';
  /// finished, refused: how much the child's resident memory grew over this process's at the
  /// fork, at its peak (a damaged size a library trusted shows here before it can here).
  double memory_growth_mb = 0;
};

/// Runs `trial` in a forked child and waits up to `limit`. `finished` when it returned, or threw
/// anything but a kd::Error (the caller repeats the work here and meets the same exception);
/// `refused` when it threw a kd::Error, carried back whole (its first 16 KiB) so that the caller
/// need not meet the library's error paths (which leak) a second time; `crashed` when the child
/// died or exited any other way; `hung` when it outlived `limit` (it is killed). The child shares
/// nothing with this process after the fork: it must only read. Outside sanitizer builds its
/// address space may grow by 1 GiB at most (an allocation past that fails in the child).
TrialEnd try_in_child(const std::function<void()>& trial, std::chrono::seconds limit);

/// Throws the kd::Error a `refused` trial threw in the child, of the same class and message.
[[noreturn]] void rethrow_refusal(const TrialEnd& end);

}  // namespace kd
