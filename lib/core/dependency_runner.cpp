#include "lib/core/dependency_runner.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace kd {

void run_in_dependency_order(const std::vector<std::vector<std::size_t>>& deps, int jobs,
                             const std::function<void(std::size_t)>& task) {
  const std::size_t n = deps.size();
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
  auto worker = [&] {
    std::unique_lock<std::mutex> lock(mutex);
    while (true) {
      changed.wait(lock, [&] { return !ready.empty() || finished == n; });
      if (ready.empty()) return;  // everything finished
      const std::size_t i = ready.front();
      ready.pop_front();
      lock.unlock();
      task(i);
      lock.lock();
      ++finished;
      for (std::size_t d : dependants[i]) {
        if (--waiting_for[d] == 0) ready.push_back(d);
      }
      changed.notify_all();
    }
  };
  const std::size_t threads = std::min<std::size_t>(static_cast<std::size_t>(std::max(1, jobs)), n);
  std::vector<std::thread> pool;
  for (std::size_t t = 0; t < threads; ++t) pool.emplace_back(worker);
  for (std::thread& t : pool) t.join();
}

}  // namespace kd
