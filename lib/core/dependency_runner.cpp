#include "lib/core/dependency_runner.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace kd {

void run_in_dependency_order(const std::vector<std::vector<std::size_t>>& deps, int jobs,
                             const std::function<void(std::size_t)>& task,
                             const std::vector<int>& slots) {
  const std::size_t n = deps.size();
  jobs = std::max(1, jobs);
  const auto slots_of = [&](std::size_t i) {
    return slots.empty() ? 1 : std::clamp(slots[i], 1, jobs);
  };
  int free_slots = jobs;
  std::vector<std::vector<std::size_t>> dependants(n);
  std::vector<std::size_t> waiting_for(n);
  std::deque<std::size_t> ready;
  for (std::size_t i = 0; i < n; ++i) {
    waiting_for[i] = deps[i].size();
    for (std::size_t d : deps[i]) dependants[d].push_back(i);
    if (deps[i].empty()) ready.push_back(i);
  }
  std::mutex mutex;
  std::condition_variable changed;
  std::size_t finished = 0;
  // The first ready task whose slots are free, or ready.end().
  const auto fitting = [&] {
    return std::find_if(ready.begin(), ready.end(),
                        [&](std::size_t i) { return slots_of(i) <= free_slots; });
  };
  auto worker = [&] {
    std::unique_lock<std::mutex> lock(mutex);
    while (true) {
      changed.wait(lock, [&] { return fitting() != ready.end() || finished == n; });
      if (finished == n) return;  // everything finished
      const auto next = fitting();
      const std::size_t i = *next;
      ready.erase(next);
      free_slots -= slots_of(i);
      lock.unlock();
      task(i);
      lock.lock();
      free_slots += slots_of(i);
      ++finished;
      for (std::size_t d : dependants[i]) {
        if (--waiting_for[d] == 0) ready.push_back(d);
      }
      changed.notify_all();
    }
  };
  const std::size_t threads = std::min<std::size_t>(static_cast<std::size_t>(jobs), n);
  std::vector<std::thread> pool;
  for (std::size_t t = 0; t < threads; ++t) pool.emplace_back(worker);
  for (std::thread& t : pool) t.join();
}

}  // namespace kd
