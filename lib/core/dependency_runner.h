// Runs tasks in dependency order on a few plain threads: for work that waits (a child process, a
// cluster job) rather than computes. TBB's workers are for computing: blocking them in waitpid
// starves the arena, and its hand-offs are invisible to ThreadSanitizer, which this one's
// mutex and condition variable are not.
#pragma once

#include <cstddef>
#include <functional>
#include <vector>

namespace kd {

/// Calls task(i) for every i < deps.size(), each once all of deps[i] (indices) have returned,
/// with at most `jobs` slots taken at once: task i takes slots[i] of them (1 when `slots` is
/// empty; all `jobs` when it asks for more). A ready task starts when its slots are free, the
/// longest-ready first among those that fit. Tasks must not throw (an escaping exception ends
/// the process); dependencies must form no cycle. Returns when every task has returned.
void run_in_dependency_order(const std::vector<std::vector<std::size_t>>& deps, int jobs,
                             const std::function<void(std::size_t)>& task,
                             const std::vector<int>& slots = {});

}  // namespace kd
