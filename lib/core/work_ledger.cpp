#include "lib/core/work_ledger.h"

#include <sys/resource.h>

#include <chrono>
#include <cstdlib>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "lib/core/files.h"

namespace kd {

namespace {

using Clock = std::chrono::steady_clock;

// The ledger's clock: steady_clock, or a test's (set_work_clock_for_testing).
Clock::time_point (*now_fn)() = &Clock::now;
Clock::time_point now() { return now_fn(); }

struct Ledger {
  std::mutex mutex;
  const Clock::time_point started = Clock::now();
  const std::thread::id main_thread = std::this_thread::get_id();
  std::vector<Phase> open;  // innermost last
  Clock::time_point since = started;
  WorkRecord record;

  // Gives the time since the last change to the innermost open phase.
  void settle(Clock::time_point now) {
    if (!open.empty())
      record.phase[static_cast<int>(open.back())] +=
          std::chrono::duration<double>(now - since).count();
    since = now;
  }
};

// Constructed when the program starts (a static of this translation unit), so that `seconds`
// counts the process's start-up too.
Ledger ledger;

}  // namespace

void set_work_clock_for_testing(std::chrono::steady_clock::time_point (*clock)()) {
  std::lock_guard<std::mutex> lock(ledger.mutex);
  now_fn = clock != nullptr ? clock : &Clock::now;
}

std::string to_string(Phase phase) {
  switch (phase) {
    case Phase::load:
      return "load";
    case Phase::train:
      return "train";
    case Phase::evaluate:
      return "evaluate";
    case Phase::infer:
      return "infer";
    case Phase::write:
      return "write";
  }
  return "?";
}

PhaseScope::PhaseScope(Phase phase) : active_(std::this_thread::get_id() == ledger.main_thread) {
  if (!active_) return;
  std::lock_guard<std::mutex> lock(ledger.mutex);
  ledger.settle(now());
  ledger.open.push_back(phase);
}

PhaseScope::~PhaseScope() {
  if (!active_) return;
  std::lock_guard<std::mutex> lock(ledger.mutex);
  ledger.settle(now());
  ledger.open.pop_back();
}

void record_forward(double flops_per_image, int64_t images, bool training) {
  std::lock_guard<std::mutex> lock(ledger.mutex);
  (training ? ledger.record.trained_images : ledger.record.evaluated_images) += images;
  ledger.record.flops += flops_per_image * static_cast<double>(images) * (training ? 3 : 1);
}

WorkRecord work_so_far() {
  std::lock_guard<std::mutex> lock(ledger.mutex);
  const Clock::time_point t = now();
  ledger.settle(t);
  WorkRecord r = ledger.record;
  r.seconds = std::chrono::duration<double>(t - ledger.started).count();
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) == 0)
    r.peak_rss_mb = static_cast<double>(usage.ru_maxrss) / 1024;
  return r;
}

void write_work_record() {
  const char* path = std::getenv(kWorkFileVariable);
  if (path == nullptr || *path == '\0') return;
  const WorkRecord r = work_so_far();
  nlohmann::json phases = nlohmann::json::object();
  double in_phases = 0;
  for (int p = 0; p < kPhases; ++p) {
    phases[to_string(static_cast<Phase>(p))] = r.phase[p];
    in_phases += r.phase[p];
  }
  phases["other"] = std::max(0.0, r.seconds - in_phases);
  const nlohmann::json j = {{"seconds", r.seconds},
                            {"phases", phases},
                            {"trained_images", r.trained_images},
                            {"evaluated_images", r.evaluated_images},
                            {"forward_flops", r.flops},
                            {"peak_rss_mb", r.peak_rss_mb}};
  try {
    write_text_atomically(path, j.dump(2) + "\n");
  } catch (const std::exception&) {
    // A measurement, not a result: a full disk must not fail the stage.
  }
}

}  // namespace kd
