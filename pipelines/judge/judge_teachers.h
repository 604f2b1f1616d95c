// The teachers `kdpipe judge` is given: `--teacher PATH[=EPS]`, a TorchScript file or a kdpipe
// teacher directory, each known in the run by a folder name made from its identity.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "pipelines/study/stages.h"

namespace kd {

/// A teacher as the user named it, and what judge plans with.
struct NamedTeacher {
  std::string given;  ///< the --teacher value's path, as typed: how the answer names it
  JudgedTeacher teacher;
  std::string content_hash;  ///< of the file (TorchScript) or DIR/model.pt
  /// The label smoothing it was trained with: PATH=EPS, or a teacher directory's own record;
  /// absent when unknown (teacher.smoothing is then 0, a label only).
  std::optional<double> smoothing;
};

/// Reads the --teacher values. PATH=EPS states the label smoothing the teacher was trained with
/// (a label only). ConfigError naming the value for a path that is neither a file nor a
/// directory holding model.pt and metrics.json, an ε outside [0, 1), or one path given twice.
/// Folder names are "ts-STEM-HASH8" or "dir-NAME-HASH8", with "-2", "-3" … where two would clash
/// (copies of one file under the same stem).
std::vector<NamedTeacher> judged_teachers(const std::vector<std::string>& specs);

/// Sentences naming teachers whose contents are identical (copies of one file): judge runs them
/// as different teachers, and says so.
std::vector<std::string> identical_teachers(const std::vector<NamedTeacher>& teachers);

}  // namespace kd
