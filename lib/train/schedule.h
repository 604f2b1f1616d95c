// Learning-rate schedules, as a function of training progress.
#pragma once

#include <string>

namespace kd {

enum class Schedule { constant, cosine, one_cycle, step };

/// "constant", "cosine", "one-cycle" or "step"; ConfigError otherwise.
Schedule parse_schedule(const std::string& name);
std::string to_string(Schedule schedule);

/// The learning rate at `progress` in [0, 1] of training, for peak rate `lr`:
///  - constant: lr throughout;
///  - cosine: lr · ½(1 + cos πt), from lr down to 0;
///  - one-cycle: linear warm-up from lr/25 to lr over the first 30%, then cosine down to lr/10⁴;
///  - step: lr, divided by 10 at 50% and again at 75% of training.
double learning_rate(Schedule schedule, double lr, double progress);

}  // namespace kd
