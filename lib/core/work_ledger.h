// Where a stage process's time goes, and how much arithmetic it did: seconds per phase (loading
// data, training, evaluating, inferring a cache, writing) and the forward FLOPs of the images its
// models trained on and evaluated. The library marks phases where the work happens (a dataset's
// loading, a training loop, a prediction); the innermost open phase gets the time. A stage of
// `kdpipe run` writes the record to the file the executor names in KDPIPE_WORK_FILE (its folder's
// work.json); `bench/roofline.py` turns a run's records into a roofline table.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

namespace kd {

/// The environment variable naming the file a stage process writes its work record to.
inline constexpr const char* kWorkFileVariable = "KDPIPE_WORK_FILE";

enum class Phase { load, train, evaluate, infer, write };
inline constexpr int kPhases = 5;

/// "load", "train", "evaluate", "infer", "write".
std::string to_string(Phase phase);

/// Attributes the time until its end to `phase`; the phase it interrupts resumes afterwards.
/// Only the process's main thread (the one that started it) records phases; others are ignored.
class PhaseScope {
 public:
  explicit PhaseScope(Phase phase);
  ~PhaseScope();
  PhaseScope(const PhaseScope&) = delete;
  PhaseScope& operator=(const PhaseScope&) = delete;

 private:
  bool active_;
};

/// Counts `images` through a model's forward pass of `flops_per_image`; a trained image counts
/// three forward passes (forward, and backward's two products), an evaluated one a single pass.
void record_forward(double flops_per_image, int64_t images, bool training);

struct WorkRecord {
  double seconds = 0;                   ///< since the process started
  std::array<double, kPhases> phase{};  ///< seconds per Phase; the rest is start-up and such
  int64_t trained_images = 0;           ///< images trained on (each counted 3x in flops)
  int64_t evaluated_images = 0;         ///< images evaluated or inferred
  double flops = 0;                     ///< forward-pass FLOPs of all of them
  double peak_rss_mb = 0;  ///< the process's peak resident memory so far (ru_maxrss), MiB
};

/// The record so far (open phases included up to now).
WorkRecord work_so_far();

/// Tests: the ledger reads `clock` instead of steady_clock (nullptr: steady_clock again), so time
/// in phases is exact, not a measurement.
void set_work_clock_for_testing(std::chrono::steady_clock::time_point (*clock)());

/// Writes the record, as JSON, to the file KDPIPE_WORK_FILE names; nothing when it is unset. A
/// failure is ignored: the record is for measuring, not for the stage's result.
void write_work_record();

}  // namespace kd
