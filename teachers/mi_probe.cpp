#include "teachers/mi_probe.h"

#include <algorithm>
#include <cmath>

#include "lib/core/error.h"
#include "lib/metrics/information.h"
#include "lib/train/evaluate.h"

namespace kd {

namespace {
constexpr std::uint64_t kProbeKey = 0x6d692d70726f6265ULL;  // views differ from training epochs
}

MiProbe::MiProbe(const ImageSet& train, const DatasetInfo& info, const MiProbeOptions& options)
    : MiProbe(
          train.labels, [&train](const torch::Tensor& rows) { return train.select(rows); }, info,
          options) {}

MiProbe::MiProbe(const torch::Tensor& labels,
                 const std::function<ImageSet(const torch::Tensor&)>& read, const DatasetInfo& info,
                 const MiProbeOptions& options)
    : info_(info), options_(options) {
  const int64_t a = options.class_a(), b = options.class_b(), k = options.examples_per_class();
  check<ConfigError>(a != b && a >= 0 && b >= 0 && a < info.classes && b < info.classes,
                     "--mi-classes: expected two different classes in [0, ", info.classes,
                     "), got ", a, " and ", b);
  check<ConfigError>(k >= 1, "--mi-examples: expected a positive count, got ", k);
  check<ConfigError>(options.views() >= 2, "--mi-views: expected at least 2 views, got ",
                     options.views());
  // On small data a class may hold fewer than asked: use what there is (the same count from
  // both classes) and say so, rather than stop the teacher.
  const torch::Tensor members[] = {labels.eq(a).nonzero().flatten(),
                                   labels.eq(b).nonzero().flatten()};
  const int64_t fewest = std::min(members[0].numel(), members[1].numel());
  check<ConfigError>(fewest >= 1, "--mi-classes: class ", members[0].numel() == 0 ? a : b,
                     " has no training examples to measure mutual information on");
  used_ = std::min(k, fewest);
  if (used_ < k) {
    note_ = "mutual information from " + std::to_string(used_) + " examples per class, not " +
            std::to_string(k) + ": class " + std::to_string(members[0].numel() < k ? a : b) +
            " has only " + std::to_string(fewest) + " training examples";
  }
  if (info.is_features() && info.noise == 0) {
    note_ += std::string(note_.empty() ? "" : "; ") +
             "--feature-noise 0: the probe's views of each example are identical, so its mutual "
             "information says nothing of the logits";
  }
  std::vector<int64_t> rows;
  for (const torch::Tensor& m : members) {
    for (int64_t i = 0; i < used_; ++i) rows.push_back(m[i].item<int64_t>());
  }
  rows_ = torch::tensor(rows, torch::kInt64);
  examples_ = read(rows_);
}

double MiProbe::measure(const Classifier& model) const {
  std::vector<torch::Tensor> views;
  for (int64_t v = 0; v < options_.views(); ++v) {
    const PredictOptions predict_options = PredictOptions()
                                               .device(options_.device())
                                               .augment(options_.augment())
                                               .seed(options_.seed() ^ kProbeKey)
                                               .stream(static_cast<std::uint64_t>(v))
                                               .ids(rows_);
    const torch::Tensor z = predict(model, examples_, info_, predict_options).logits;
    views.push_back(z.select(1, options_.class_a()) - z.select(1, options_.class_b()));
  }
  return mutual_information(torch::stack(views, 1));
}

double MiProbe::upper_bound() const { return std::log(static_cast<double>(rows_.numel())); }

nlohmann::json MiProbe::describe() const {
  nlohmann::json d = {{"classes", {options_.class_a(), options_.class_b()}},
                      {"examples_per_class", used_},
                      {"examples_per_class_asked", options_.examples_per_class()},
                      {"views", options_.views()},
                      {"augment", to_string(options_.augment())},
                      {"upper_bound", upper_bound()}};
  // A feature array's views are Gaussian noise, whatever the augmentation is called.
  if (info_.is_features()) d["augment"] = "gaussian-noise", d["noise_std"] = info_.noise;
  return d;
}

}  // namespace kd
