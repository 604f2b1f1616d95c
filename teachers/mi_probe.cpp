#include "teachers/mi_probe.h"

#include <cmath>

#include "lib/core/error.h"
#include "lib/metrics/information.h"
#include "lib/train/evaluate.h"

namespace kd {

namespace {
constexpr std::uint64_t kProbeKey = 0x6d692d70726f6265ULL;  // views differ from training epochs
}

MiProbe::MiProbe(const ImageSet& train, const DatasetInfo& info, const MiProbeOptions& options)
    : train_(train), info_(info), options_(options) {
  const int64_t a = options.class_a(), b = options.class_b(), k = options.examples_per_class();
  check<ConfigError>(a != b && a >= 0 && b >= 0 && a < info.classes && b < info.classes,
                     "--mi-classes: expected two different classes in [0, ", info.classes,
                     "), got ", a, " and ", b);
  check<ConfigError>(k >= 1, "--mi-examples: expected a positive count, got ", k);
  check<ConfigError>(options.views() >= 2, "--mi-views: expected at least 2 views, got ",
                     options.views());
  std::vector<int64_t> rows;
  for (int64_t cls : {a, b}) {
    const torch::Tensor members = train.labels.eq(cls).nonzero().flatten();
    check<ConfigError>(members.numel() >= k, "--mi-examples: class ", cls, " has only ",
                       members.numel(), " training examples, ", k, " asked for");
    for (int64_t i = 0; i < k; ++i) rows.push_back(members[i].item<int64_t>());
  }
  rows_ = torch::tensor(rows, torch::kInt64);
}

double MiProbe::measure(const Classifier& model) const {
  std::vector<torch::Tensor> views;
  for (int64_t v = 0; v < options_.views(); ++v) {
    const PredictOptions predict_options = PredictOptions()
                                               .device(options_.device())
                                               .augment(options_.augment())
                                               .seed(options_.seed() ^ kProbeKey)
                                               .stream(static_cast<std::uint64_t>(v));
    const torch::Tensor z = predict(model, train_, info_, predict_options, rows_).logits;
    views.push_back(z.select(1, options_.class_a()) - z.select(1, options_.class_b()));
  }
  return mutual_information(torch::stack(views, 1));
}

double MiProbe::upper_bound() const { return std::log(static_cast<double>(rows_.numel())); }

nlohmann::json MiProbe::describe() const {
  return {{"classes", {options_.class_a(), options_.class_b()}},
          {"examples_per_class", options_.examples_per_class()},
          {"views", options_.views()},
          {"augment", to_string(options_.augment())},
          {"upper_bound", upper_bound()}};
}

}  // namespace kd
