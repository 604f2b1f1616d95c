// A study expanded into stages: teach → cache → distill, plus baselines, each a `kdpipe`
// command run in its own folder of the run directory.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "pipelines/study/stage.h"
#include "pipelines/study/study.h"

namespace kd {

/// The stages of `study`, dependencies before dependants.
std::vector<Stage> plan_stages(const Study& study);

}  // namespace kd
