#include "storage/top_k.h"

#include <cmath>

#include "lib/core/error.h"
#include "lib/core/number_text.h"

namespace kd {

torch::Tensor top_k_classes(const torch::Tensor& logits, int64_t k) {
  return std::get<1>(logits.topk(k, -1, /*largest=*/true, /*sorted=*/true));
}

torch::Tensor reconstruct_top_k(const torch::Tensor& values, const torch::Tensor& classes,
                                int64_t c, TopKRule rule, torch::ScalarType type) {
  torch::Tensor v = values.to(type);
  const int64_t k = v.size(-1);
  std::vector<int64_t> shape = v.sizes().vec();
  shape.back() = c;
  torch::Tensor out;
  if (rule == TopKRule::uniform && c > k) {
    const torch::Tensor missing = (1 - v.sum(-1, /*keepdim=*/true)).clamp_min(0);
    out = (missing / static_cast<double>(c - k)).expand(shape).contiguous();
  } else {
    if (rule == TopKRule::renormalise) v = v / v.sum(-1, /*keepdim=*/true).clamp_min(1e-30);
    out = torch::zeros(shape, torch::TensorOptions().dtype(type));
  }
  return out.scatter_(-1, classes.to(torch::kInt64), v);
}

double top_k_mass_limit(int64_t k) { return 1.0 + static_cast<double>(k) * std::ldexp(1.0, -10); }

namespace {

// "view v, example i" of the first row of [V, n, K] where `bad` [V, n] holds.
std::string first_row(const torch::Tensor& bad, int64_t first_example) {
  const torch::Tensor at = bad.nonzero()[0];
  return "view " + std::to_string(at[0].item<int64_t>()) + ", example " +
         std::to_string(first_example + at[1].item<int64_t>());
}

}  // namespace

std::string top_k_classes_problem(const torch::Tensor& classes, int64_t c, int64_t first_example) {
  const torch::Tensor x = classes.to(torch::kInt64);
  const torch::Tensor outside = ((x < 0) | (x >= c)).any(-1);
  if (outside.any().item<bool>()) {
    const torch::Tensor at = outside.nonzero()[0];
    const torch::Tensor row = x[at[0]][at[1]];
    const int64_t value = row.index({(row < 0) | (row >= c)}).flatten()[0].item<int64_t>();
    return "class " + std::to_string(value) + " outside [0, " + std::to_string(c) + ") at " +
           first_row(outside, first_example);
  }
  if (x.size(-1) < 2) return "";
  const torch::Tensor sorted = std::get<0>(x.sort(-1));
  const torch::Tensor repeated =
      (sorted.narrow(-1, 1, x.size(-1) - 1) == sorted.narrow(-1, 0, x.size(-1) - 1)).any(-1);
  if (repeated.any().item<bool>())
    return "a class repeated at " + first_row(repeated, first_example);
  return "";
}

std::string top_k_values_problem(const torch::Tensor& values, int64_t c, int64_t first_example) {
  const torch::Tensor v = values.to(torch::kFloat64);
  const torch::Tensor broken = (~torch::isfinite(v) | (v < 0)).any(-1);
  if (broken.any().item<bool>())
    return "a value that is negative, NaN or infinite at " + first_row(broken, first_example);
  const int64_t k = v.size(-1);
  if (k > 1) {
    const torch::Tensor rising = (v.narrow(-1, 1, k - 1) > v.narrow(-1, 0, k - 1)).any(-1);
    if (rising.any().item<bool>())
      return "values increasing along the row (stored largest first) at " +
             first_row(rising, first_example);
  }
  const torch::Tensor mass = v.sum(-1);
  const torch::Tensor heavy = mass > top_k_mass_limit(k);
  if (heavy.any().item<bool>()) {
    return "values summing to " + exact_text(mass.max().item<double>()) +
           ", above 1 + K·2^-10 = " + exact_text(top_k_mass_limit(k)) + ", at " +
           first_row(heavy, first_example);
  }
  // The C − K classes left out are each at most the smallest kept value, so they hold at most
  // (C − K)·v_K of the mass: a row missing more (all zeros, or K = C summing short of 1) is no
  // teacher's softmax, and no rule rebuilds it (float16's rounding allowed for).
  const torch::Tensor room = static_cast<double>(c - k) * v.select(-1, k - 1);
  const double slack = std::ldexp(1.0, -10);
  const torch::Tensor short_rows = (1 - mass) > room * (1 + slack) + static_cast<double>(k) * slack;
  if (short_rows.any().item<bool>()) {
    const torch::Tensor at = short_rows.nonzero()[0];
    const double m = mass[at[0]][at[1]].item<double>();
    return "values summing to " + exact_text(m) + ", leaving more mass out than the " +
           std::to_string(c - k) + " other classes can hold below the smallest kept value, at " +
           first_row(short_rows, first_example);
  }
  return "";
}

SoftTargets SoftTargets::of_logits(torch::Tensor logits, double t) {
  SoftTargets s;
  s.logits_ = std::move(logits);
  s.t_ = t;
  s.c_ = s.logits_.size(2);
  return s;
}

SoftTargets SoftTargets::of_top_k(torch::Tensor values, torch::Tensor classes, int64_t c,
                                  TopKRule rule) {
  SoftTargets s;
  s.values_ = std::move(values);
  s.classes_ = std::move(classes);
  s.c_ = c;
  s.rule_ = rule;
  return s;
}

SoftTargets SoftTargets::of_source(std::shared_ptr<const TargetSource> source) {
  SoftTargets s;
  s.source_ = std::move(source);
  return s;
}

int64_t SoftTargets::views() const {
  return logits_.defined()   ? logits_.size(0)
         : values_.defined() ? values_.size(0)
         : source_           ? source_->views()
                             : 0;
}

torch::Tensor SoftTargets::rows(int64_t view, const torch::Tensor& rows,
                                torch::ScalarType type) const {
  if (source_) return source_->rows(view, rows, type);
  if (logits_.defined()) {
    // Exactly the arithmetic of the losses on logits: softmax of z / T in the precision asked.
    return torch::softmax(logits_[view].index_select(0, rows).to(type) / t_, 1);
  }
  return reconstruct_top_k(values_[view].index_select(0, rows),
                           classes_[view].index_select(0, rows), c_, rule_, type);
}

}  // namespace kd
