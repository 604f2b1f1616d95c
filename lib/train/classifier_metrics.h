// What kdpipe records about a trained classifier: accuracy, NLL, ECE and reliability bins on
// validation and test, temperature scaling fitted on validation, and stability on training data.
#pragma once

#include <filesystem>
#include <string>

#include "lib/data/image_set.h"
#include "lib/models/classifier.h"
#include "lib/train/evaluate.h"
#include "lib/train/stage_result.h"

namespace kd {

/// Evaluates `model` on all three splits of `data`. The temperature is fitted on `val` only and
/// applied to `test`; the test set is never used to choose anything. With `predictions`, the
/// per-example test predictions are also written there (see save_test_predictions).
Evaluation evaluate_classifier(const Classifier& model, const Dataset& data,
                               const PredictOptions& options,
                               const std::filesystem::path& predictions = {});

/// One model's predictions of every test example, so that models evaluated on the same test set
/// can be compared example by example (McNemar, a paired bootstrap).
struct TestPredictions {
  torch::Tensor logits;  ///< float32 [N, C]
  torch::Tensor labels;  ///< int64 [N]
  std::string test_fingerprint;
};

/// Writes `p` atomically as a dict Python's torch.load reads: format "kdpipe-predictions",
/// logits, predicted (argmax, int64 [N]), labels, test_fingerprint.
void save_test_predictions(const std::filesystem::path& path, const TestPredictions& p);

/// Reads what save_test_predictions wrote; StorageError naming the file otherwise.
TestPredictions load_test_predictions(const std::filesystem::path& path);

/// What metrics.json says of a saved checkpoint: arch, parameter count, file name and hash.
ModelRecord checkpoint_record(const Classifier& model, const std::string& arch,
                              const std::filesystem::path& checkpoint);

}  // namespace kd
