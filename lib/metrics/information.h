// How much a network's outputs say about its input: the mutual-information estimate of Müller et
// al. (appendix A.2), the smoothness γ of a target distribution, and Shen et al.'s stability.
#pragma once

#include <torch/torch.h>

namespace kd {

/// Î(X; Y) in nats from y [N, L]: row x holds the L noisy observations (augmented views) of
/// example x, e.g. a logit difference. Models Y | x as N(μₓ, σ²) with μₓ the row mean and σ²
/// pooled over all rows and views; returns the mean over x and views of
///   −(y−μₓ)²/2σ² − log((1/N) Σₓ′ exp(−(y−μₓ′)²/2σ²)),
/// which lies in [0, log N]: log N when examples are perfectly told apart, 0 when all μₓ agree.
double mutual_information(const torch::Tensor& y);

/// γ = E[Σₖ (1 − yₖ) pₖ] · K/(K−1): the probability mass a target puts off the true class,
/// scaled so that label smoothing with ε gives γ = ε. probs [N, K], labels [N].
double target_smoothness(const torch::Tensor& probs, const torch::Tensor& labels);

/// Shen et al. (2021): 1 − (1/K) Σ_c (1/n_c) Σ_{i in c} ‖pᵢ − p̄_c‖², over classes present.
double stability(const torch::Tensor& probs, const torch::Tensor& labels);

/// target_smoothness and stability of rows given a block at a time, so that a split's
/// probabilities are never held at once: per class the count, the mean and the sum of squared
/// distances to it, blocks joined by Chan et al.'s update. Holds K² doubles.
class ProbabilityMoments {
 public:
  explicit ProbabilityMoments(int64_t classes);
  /// probs [B, K] (float64 or cast to it), labels [B].
  void add(const torch::Tensor& probs, const torch::Tensor& labels);
  double smoothness() const;
  double stability() const;

 private:
  torch::Tensor count_, mean_, squares_;  // [K], [K, K], [K]: per class
  double off_true_ = 0;                   // Σ over rows of the mass off the true class
  int64_t rows_ = 0;
};

}  // namespace kd
