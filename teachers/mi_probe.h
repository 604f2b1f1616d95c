// The mutual-information probe of Müller et al. (appendix A.2): a fixed set of training examples
// from two classes, each seen under L augmented views; Y is the difference of the two classes'
// logits. Evaluated after every epoch it gives the MI curve.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <nlohmann/json.hpp>

#include "lib/data/augment.h"
#include "lib/data/image_set.h"
#include "lib/models/classifier.h"

namespace kd {

struct MiProbeOptions {
  /// The two classes whose logit difference is observed.
  TORCH_ARG(int64_t, class_a) = 0;
  TORCH_ARG(int64_t, class_b) = 1;
  /// Training examples per class (the paper: 300, so N = 600).
  TORCH_ARG(int64_t, examples_per_class) = 300;
  /// Augmented views per example (the paper: L = 5).
  TORCH_ARG(int64_t, views) = 5;
  /// The noise: the augmentation the model was trained with (for feature arrays, any but none is
  /// Gaussian noise of DatasetInfo::noise standard deviations).
  TORCH_ARG(Augment, augment) = Augment::shift_flip;
  TORCH_ARG(std::uint64_t, seed) = 0;
  TORCH_ARG(torch::Device, device) = torch::kCPU;
};

class MiProbe {
 public:
  /// Picks the first `examples_per_class` examples of each class from `train` (fewer, the same
  /// from both, when a class has fewer: note() says so); ConfigError if a class has none or the
  /// classes are not distinct and in range.
  MiProbe(const ImageSet& train, const DatasetInfo& info, const MiProbeOptions& options);
  /// The same, for a training split not held in memory: `labels` of all of it, and `read`
  /// giving the examples at the rows it is asked for.
  MiProbe(const torch::Tensor& labels, const std::function<ImageSet(const torch::Tensor&)>& read,
          const DatasetInfo& info, const MiProbeOptions& options);

  /// Î in nats for the model as it is now.
  double measure(const Classifier& model) const;
  /// log N, the largest value Î can take.
  double upper_bound() const;
  /// The probe's set-up, for metrics.json.
  nlohmann::json describe() const;
  /// One line when the probe uses fewer examples than asked; "" otherwise.
  const std::string& note() const { return note_; }

 private:
  ImageSet examples_;  ///< the probe's examples, read once
  int64_t used_ = 0;
  std::string note_;
  const DatasetInfo& info_;
  MiProbeOptions options_;
  torch::Tensor rows_;  ///< int64 [N]: the examples' rows in the training split
};

}  // namespace kd
