// The words of a study and its stages as types: each enum has one table of names, used both to
// write it (to_string: stage.json, the manifest, study.ini, command lines) and to read it
// (parse_enum: ConfigError naming what was expected).
#pragma once

#include <array>
#include <string>
#include <utility>

#include "lib/core/error.h"

namespace kd {

/// What a stage computes.
enum class StageKind { teach, cache, distill, baseline };
/// Where a stage stands: one vocabulary for stage.json, the manifest and `kdpipe run`'s output.
/// `pending`: not (validly) finished; `blocked`: a dependency failed.
enum class StageState { pending, running, done, failed, blocked };
/// Who runs the stages: child processes here, or SLURM batch jobs.
enum class ExecutorKind { local, slurm };
/// Where every stage of a study runs; `automatic` ("auto") is CUDA when there is one.
enum class DeviceChoice { cpu, cuda, automatic };

template <typename E>
struct EnumNames;  // `names`: each value's name, in declaration order

template <>
struct EnumNames<StageKind> {
  static constexpr std::array<const char*, 4> names = {"teach", "cache", "distill", "baseline"};
};
template <>
struct EnumNames<StageState> {
  static constexpr std::array<const char*, 5> names = {"pending", "running", "done", "failed",
                                                       "blocked"};
};
template <>
struct EnumNames<ExecutorKind> {
  static constexpr std::array<const char*, 2> names = {"local", "slurm"};
};
template <>
struct EnumNames<DeviceChoice> {
  static constexpr std::array<const char*, 3> names = {"cpu", "cuda", "auto"};
};

template <typename E, typename = decltype(EnumNames<E>::names)>
std::string to_string(E value) {
  return EnumNames<E>::names.at(static_cast<std::size_t>(value));
}

/// The value named `text`; ConfigError "WHAT: expected a, b or c, got 'x'" otherwise (without
/// "WHAT: " when `what` is empty).
template <typename E>
E parse_enum(const std::string& text, const std::string& what = "") {
  const auto& names = EnumNames<E>::names;
  std::string expected;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (text == names[i]) return static_cast<E>(i);
    expected += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + std::string(names[i]);
  }
  throw ConfigError((what.empty() ? "" : what + ": ") + "expected " + expected + ", got '" + text +
                    "'");
}

}  // namespace kd
