#include "lib/losses/losses.h"

#include <cmath>

#include "lib/core/number_text.h"

namespace kd {

std::string temperature_problem(double t) {
  if (!std::isfinite(t)) return "expected a finite temperature, got " + exact_text(t);
  if (t < kMinTemperature) {
    return "expected a temperature of at least 1e-06 (softmax(z/T) overflows below it), got " +
           exact_text(t);
  }
  return "";
}

namespace F = torch::nn::functional;

torch::Tensor smoothed_cross_entropy(const torch::Tensor& logits, const torch::Tensor& labels,
                                     double eps) {
  return F::cross_entropy(logits, labels, F::CrossEntropyFuncOptions().label_smoothing(eps));
}

torch::Tensor soft_cross_entropy(const torch::Tensor& logits, const torch::Tensor& target) {
  return -(target * torch::log_softmax(logits, 1)).sum(1).mean();
}

torch::Tensor distillation_loss(const torch::Tensor& student_logits,
                                const torch::Tensor& teacher_logits, const torch::Tensor& labels,
                                double temperature, double alpha, double student_temperature) {
  return distillation_loss_to_targets(student_logits,
                                      torch::softmax(teacher_logits.detach() / temperature, 1),
                                      labels, temperature, alpha, student_temperature);
}

torch::Tensor distillation_loss_to_targets(const torch::Tensor& student_logits,
                                           const torch::Tensor& targets,
                                           const torch::Tensor& labels, double temperature,
                                           double alpha, double student_temperature) {
  const double ts = student_temperature > 0 ? student_temperature : temperature;
  const torch::Tensor target = targets.detach();
  // Σ p (log p − log q), with 0·log 0 = 0: a confident teacher's softmax underflows to exact
  // zeros, which F::kl_div turns into NaN.
  const torch::Tensor log_q = torch::log_softmax(student_logits / ts, 1);
  const torch::Tensor kl = (torch::xlogy(target, target) - target * log_q).sum(1).mean();
  torch::Tensor loss = alpha * ts * ts * kl;
  if (alpha < 1) loss = loss + (1 - alpha) * F::cross_entropy(student_logits, labels);
  return loss;
}

}  // namespace kd
