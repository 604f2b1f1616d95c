// One stage of a study: a `kdpipe` command run in its own folder of the run directory. Plain data,
// without LibTorch, so the executor builds (and is tested under ThreadSanitizer) on its own.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "pipelines/study/study_enums.h"

namespace kd {

struct Stage {
  std::string id;  ///< e.g. "teach/eps0.1-seed0"; also its folder in the run directory
  StageKind kind = StageKind::teach;
  std::vector<std::string> deps;  ///< ids of the stages whose outputs it reads
  /// The kdpipe command and options, paths relative to the run directory (where it runs);
  /// --out, --threads and --device are added when it runs.
  std::vector<std::string> args;
  std::string out;     ///< its --out, relative to the run directory
  std::string output;  ///< the file whose presence means it finished, relative to the run directory
  /// The processes its command trains on (teach and distill --ranks): it takes as many of the
  /// local executor's jobs, and a SLURM job of as many tasks.
  int ranks = 1;
  /// Files outside the run directory it reads (a TorchScript teacher): their content is hashed.
  std::vector<std::filesystem::path> input_files;
  /// Hash of kind, args, input files and the deps' input hashes: what the stage computes from.
  /// Unchanged hash, finished stage: nothing to do.
  std::string input_hash;
  /// Reads the finished output (its full path) as its one reader does and throws kd::Error when
  /// it does not validate (a value outside its domain): such a stage is not done. Empty: the
  /// output's presence (and, for JSON, its syntax) is enough.
  std::function<void(const std::filesystem::path&)> check_output;
};

}  // namespace kd
