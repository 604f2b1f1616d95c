// A teacher whose logits are cached: a kdpipe checkpoint (a teach-stage directory or its
// model.pt) or any TorchScript classifier. Inference workers each take their own replica.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "lib/data/image_set.h"

namespace kd {

/// One independent copy of the teacher, in evaluation mode: images [B, C, H, W] → logits [B, K].
using TeacherReplica = std::function<torch::Tensor(const torch::Tensor&)>;

class TeacherModel {
 public:
  /// A teach-stage output: `path` is its directory (model.pt, metrics.json) or model.pt itself;
  /// or the directory where `kdpipe teach --torchscript` evaluated a TorchScript teacher, which
  /// then gives the stated ε and input, and must not have changed since.
  static TeacherModel from_checkpoint(const std::filesystem::path& path);
  /// A TorchScript module whose forward maps [B, C, H, W] to [B, K].
  static TeacherModel from_torchscript(const std::filesystem::path& path);

  /// Refuses (ConfigError naming the file) a teacher that cannot take this dataset's images
  /// or does not output one logit per class. For TorchScript, runs one probe batch.
  void check_compatible(const DatasetInfo& info) const;

  /// Loads a fresh replica on `device`.
  TeacherReplica replica(const torch::Device& device) const;

  const std::string& source() const { return source_; }  ///< "kdpipe" or "torchscript"
  const std::string& arch() const { return arch_; }
  const std::filesystem::path& checkpoint() const { return checkpoint_; }
  const std::string& checkpoint_hash() const { return hash_; }
  double smoothing() const { return smoothing_; }             ///< -1 when unknown
  int64_t seed() const { return seed_; }                      ///< -1 when unknown
  const std::string& trained_on() const { return dataset_; }  ///< "" when unknown
  /// How a TorchScript teacher takes its images, when its evaluation recorded it ("" otherwise).
  const std::string& input() const { return input_; }

 private:
  std::string source_;
  std::string arch_;
  std::filesystem::path checkpoint_;
  std::string hash_;
  double smoothing_ = -1;
  int64_t seed_ = -1;
  std::string dataset_;
  std::string input_;
  InputShape shape_;  ///< what the model takes
  /// Feature arrays: whether it was trained (or evaluated) on standardised values; unknown for a
  /// TorchScript file named directly.
  std::optional<bool> standardize_;
  int64_t classes_ = 0;
};

}  // namespace kd
