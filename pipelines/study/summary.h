// A few lines a person reads after `kdpipe run`: teacher accuracy, and each student group's test
// accuracy (mean, min and max over seeds) next to the baselines. The full report is `report`.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "pipelines/study/stages.h"

namespace kd {

/// Reads the finished stages' metrics.json files; stages that did not finish are left out.
std::string summarize(const std::vector<Stage>& stages, const std::filesystem::path& run_dir);

}  // namespace kd
