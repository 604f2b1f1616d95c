#include "lib/train/schedule.h"

#include <algorithm>
#include <cmath>

#include "lib/core/error.h"

namespace kd {

Schedule parse_schedule(const std::string& name) {
  if (name == "constant") return Schedule::constant;
  if (name == "cosine") return Schedule::cosine;
  if (name == "one-cycle") return Schedule::one_cycle;
  if (name == "step") return Schedule::step;
  throw ConfigError("--schedule: expected constant, cosine, one-cycle or step, got '" + name + "'");
}

std::string to_string(Schedule schedule) {
  switch (schedule) {
    case Schedule::constant:
      return "constant";
    case Schedule::cosine:
      return "cosine";
    case Schedule::one_cycle:
      return "one-cycle";
    case Schedule::step:
      return "step";
  }
  return "constant";
}

double learning_rate(Schedule schedule, double lr, double progress) {
  const double t = std::clamp(progress, 0.0, 1.0);
  const double pi = 3.14159265358979323846;
  switch (schedule) {
    case Schedule::constant:
      return lr;
    case Schedule::cosine:
      return lr * 0.5 * (1.0 + std::cos(pi * t));
    case Schedule::one_cycle: {
      constexpr double warm = 0.3;
      const double start = lr / 25.0, end = lr / 1e4;
      if (t < warm) return start + (lr - start) * (t / warm);
      const double u = (t - warm) / (1.0 - warm);
      return end + (lr - end) * 0.5 * (1.0 + std::cos(pi * u));
    }
    case Schedule::step:
      return lr * (t < 0.5 ? 1.0 : t < 0.75 ? 0.1 : 0.01);
  }
  return lr;
}

}  // namespace kd
