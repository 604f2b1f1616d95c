// A study whose student seeds are added in rounds (study.max-seeds): its stages as they stand in
// a run directory, replayed from the finished students round by round.
#pragma once

#include <filesystem>
#include <vector>

#include "pipelines/study/stage.h"
#include "pipelines/study/study.h"

namespace kd {

/// The study's stages with every round its finished students call for: the listed seeds, then,
/// while the verdict's comparisons are open and their last round is done, the next round's
/// students (pipelines/report/study_decisions.h). Without max-seeds, plan_stages(study).
/// Running these and calling it again gives more stages until the rounds are over.
std::vector<Stage> plan_with_rounds(const Study& study, const std::filesystem::path& run_dir);

}  // namespace kd
