// The words of a study and its stages as types, each with its table of names (lib/core/
// enum_names.h): stage.json, the manifest, study.ini and command lines write and read them.
#pragma once

#include <array>

#include "lib/core/enum_names.h"

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

}  // namespace kd
