// A study expanded into stages: teach → cache → distill, plus baselines, each a `kdpipe`
// command run in its own folder of the run directory.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "pipelines/study/stage.h"
#include "pipelines/study/study.h"

namespace kd {

/// A student a study's rounds add beyond its listed seeds (study.max-seeds): one more seed of one
/// arm of the verdict, with the first student architecture and α.
struct RoundStudent {
  std::optional<double> teacher_smoothing;  ///< distilled from the teacher of this ε; or alone:
  Baseline baseline = Baseline::hard;       ///< hard or smooth (with `smoothing`)
  double smoothing = 0;
  double temperature = 1;  ///< distilled students
  std::uint64_t seed = 0;
};

/// The stages of `study`, dependencies before dependants; then the students its rounds added.
std::vector<Stage> plan_stages(const Study& study, const std::vector<RoundStudent>& rounds = {});

/// A teacher `kdpipe judge` compares: a TorchScript file, evaluated by a teach stage, or a kdpipe
/// teacher directory, whose cache stage reads it where it is.
struct JudgedTeacher {
  std::string name;  ///< its stages' folder name ("ts-…" or "dir-…"), from its identity
  std::filesystem::path torchscript;  ///< absolute; or
  std::filesystem::path directory;    ///< absolute
  double smoothing = 0;               ///< as the user stated it (FILE=EPS); only a label
};

/// Some students of one teacher: seeds at one temperature.
struct JudgedStudents {
  double temperature = 1;
  std::vector<std::uint64_t> seeds;
};

/// What judge has planned so far: every teacher's evaluation and cache, its students, and the
/// student trained alone on hard labels.
struct JudgePlan {
  std::vector<JudgedTeacher> teachers;
  std::vector<std::vector<JudgedStudents>> students;  ///< per teacher
  std::vector<std::uint64_t> baseline_seeds;
};

/// The stages of `plan`, dependencies before dependants, with the data, cache and student recipe
/// of `recipe` (its first student architecture and α; teachers' images as torchscript-input).
/// Stage ids: teach/NAME, cache/NAME, distill/NAME/…-T<T>-a<α>-seed<s>, baseline/hard/…-seed<s>.
std::vector<Stage> plan_judge_stages(const Study& recipe, const JudgePlan& plan);

}  // namespace kd
