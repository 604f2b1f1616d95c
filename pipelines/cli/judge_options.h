// The option table of `kdpipe judge` and the settings it fills: shared by the command and by the
// readers of a judge's run directory (judge_run.cpp), which parse its saved judge.args back.
#pragma once

#include "pipelines/cli/options.h"
#include "pipelines/judge/judge_plan.h"

namespace kd::cli {

/// Every option `kdpipe judge` parses (its own and the data's).
po::options_description judge_options();

/// The settings the parsed options name; ConfigError naming a missing teacher or student.
JudgeSettings settings_from(const po::variables_map& vm);

}  // namespace kd::cli
