// Training losses, as batch means.
#pragma once

#include <torch/torch.h>

namespace kd {

/// The smallest temperature kdpipe takes: below it, z/T overflows float32 for ordinary logits
/// and softmax(z/T) is NaN. A temperature option's check is temperature_problem's.
inline constexpr double kMinTemperature = 1e-6;

/// Why `t` is no usable temperature ("" when it is): not finite, or below kMinTemperature.
std::string temperature_problem(double t);

/// Cross-entropy against the label-smoothed target (1 - eps) * one_hot(y) + eps / K
/// (Szegedy et al. 2016; Müller et al. 2019). eps = 0 is plain cross-entropy.
torch::Tensor smoothed_cross_entropy(const torch::Tensor& logits, const torch::Tensor& labels,
                                     double eps);

/// Cross-entropy -sum_k q_k log softmax(z)_k against a full target distribution q [B, K].
torch::Tensor soft_cross_entropy(const torch::Tensor& logits, const torch::Tensor& target);

/// Knowledge distillation (Hinton et al. 2015):
///   (1 − α)·CE(y, softmax(z_s)) + α·T_s²·KL(softmax(z_t / T) ‖ softmax(z_s / T_s))
/// with T_s = `student_temperature`, or T when it is 0 (Hinton's setting, where T² keeps gradient
/// magnitudes comparable across temperatures). T_s = 1 is Müller et al.'s setting: only the
/// teacher is softened. KL is averaged over the batch.
torch::Tensor distillation_loss(const torch::Tensor& student_logits,
                                const torch::Tensor& teacher_logits, const torch::Tensor& labels,
                                double temperature, double alpha, double student_temperature = 0);

/// The same against the teacher's target distribution `targets` [B, C] at temperature T, given
/// (softmax(z_t / T), or a row rebuilt from a top-k cache): T only sets T_s when that is 0.
torch::Tensor distillation_loss_to_targets(const torch::Tensor& student_logits,
                                           const torch::Tensor& targets,
                                           const torch::Tensor& labels, double temperature,
                                           double alpha, double student_temperature = 0);

}  // namespace kd
