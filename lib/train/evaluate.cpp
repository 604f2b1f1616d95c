#include "lib/train/evaluate.h"

#include "lib/core/work_ledger.h"
#include "lib/models/flops.h"

namespace kd {

Predictions predict(const Classifier& model, const ImageSet& set, const DatasetInfo& info,
                    const PredictOptions& options, const torch::Tensor& rows_in,
                    bool with_features) {
  const PhaseScope phase(Phase::evaluate);
  torch::NoGradGuard no_grad;
  model->eval();
  model->to(options.device());
  const torch::Tensor rows =
      rows_in.defined() ? rows_in.to(torch::kInt64) : torch::arange(set.size(), torch::kInt64);
  if (rows.numel() > 0) record_forward(forward_flops(model, info.input()), rows.numel(), false);
  std::vector<torch::Tensor> logits, features;
  for (int64_t s = 0; s < rows.numel(); s += options.batch_size()) {
    const torch::Tensor chunk = rows.slice(0, s, std::min(rows.numel(), s + options.batch_size()));
    const torch::Tensor x =
        make_batch(set, info, chunk, options.augment(), options.seed(), options.stream(),
                   options.ids().defined() ? options.ids().index_select(0, chunk) : chunk)
            .to(options.device());
    if (!with_features) {
      logits.push_back(model->forward(x).to(torch::kCPU));
      continue;
    }
    const torch::Tensor h = model->features(x);
    logits.push_back(model->head()->forward(h).to(torch::kCPU));
    features.push_back(h.to(torch::kCPU));
  }
  Predictions out;
  out.logits = logits.empty() ? torch::empty({0, 0}) : torch::cat(logits);
  if (with_features) out.features = features.empty() ? torch::empty({0, 0}) : torch::cat(features);
  return out;
}

}  // namespace kd
