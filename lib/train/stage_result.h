// What a teach or distill stage measured, as types. The stage returns it; metrics.json is its
// serialisation (stage_json, written once at the stage's edge) and
// pipelines/report/results_reader.cpp its one reader.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "lib/metrics/calibration.h"
#include "lib/train/progress.h"

namespace kd {

/// A temperature fitted on the validation split, and the test calibration it gives.
struct TemperatureScaling {
  double temperature = 1;
  CalibrationReport test;
};

/// A trained classifier evaluated on all three splits (see evaluate_classifier).
struct Evaluation {
  CalibrationReport test;
  /// The file of per-example test predictions beside metrics.json; empty when none was written.
  std::string predictions;
  std::optional<CalibrationReport> val;       ///< absent with val-size = 0
  std::optional<TemperatureScaling> scaling;  ///< fitted on val; absent with val-size = 0
  double train_accuracy = 0, stability = 0, train_gamma = 0;
};

/// One epoch of training, with what was measured after it.
struct EpochRecord {
  EpochStats stats;
  std::optional<double> val_accuracy;        ///< on the epochs validation was evaluated
  std::optional<double> mutual_information;  ///< teachers: the MI probe after the epoch
};

/// The model a stage produced (or, for a TorchScript teacher, evaluated).
struct ModelRecord {
  std::string arch;
  std::string source = "kdpipe";  ///< or "torchscript"
  std::optional<int64_t> parameters;
  std::string checkpoint;  ///< a file name beside metrics.json, or an absolute path
  std::string checkpoint_hash;
};

/// Where the time went: training (or only evaluating, for a TorchScript teacher).
struct Timing {
  bool trained = true;
  double seconds = 0;
  std::optional<double> images_per_second;
  int threads = 1;
  std::string blas, device;
};

/// What every teach and distill stage measured.
struct StageResult {
  std::string kind;  ///< teacher, student or baseline
  Evaluation evaluation;
  std::vector<EpochRecord> epochs;
  ModelRecord model;
  /// γ of the targets learned from: ε for a smoothed teacher, the mixed teacher targets' for a
  /// student.
  double target_gamma = 0;
  Timing timing;
};

nlohmann::json to_json(const Evaluation& e);

/// `r` as the top-level fields of metrics.json, with kdpipe's version and the time of writing;
/// the stage adds its options, data and its own parts.
nlohmann::json stage_json(const StageResult& r);

}  // namespace kd
