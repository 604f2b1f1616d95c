// What kdpipe records about a trained classifier: accuracy, NLL, ECE and reliability bins on
// validation and test, temperature scaling fitted on validation, and stability on training data.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "lib/data/image_set.h"
#include "lib/models/classifier.h"
#include "lib/train/evaluate.h"

namespace kd {

/// Evaluates `model` on all three splits of `data`. The temperature is fitted on `val` only and
/// applied to `test`; the test set is never used to choose anything.
nlohmann::json evaluate_classifier(const Classifier& model, const Dataset& data,
                                   const PredictOptions& options);

/// What metrics.json says of a saved checkpoint: arch, parameter count, file name and hash.
nlohmann::json checkpoint_record(const Classifier& model, const std::string& arch,
                                 const std::filesystem::path& checkpoint);

}  // namespace kd
