// The report of a `kdpipe judge` run: the answer, the teachers by identity (path, content hash,
// folder) with what their logits say, every comparison, and the students behind it seed by seed,
// as report.json, report.md and report.html in RUN_DIR/report/, laid out once over the page
// formats of the study report (page_format.h).
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>

#include "pipelines/judge/judge_answer.h"

namespace kd {

/// report.json: judge.json's content (schema kdpipe-judge) and "students", one entry per student
/// trained: its arm (a teacher's folder at a temperature, or alone), seed and accuracies.
nlohmann::json judge_report_json(const JudgeAnswer& answer);

/// Writes run_dir/report/report.{json,md,html}; returns the report folder.
std::filesystem::path write_judge_report(const JudgeAnswer& answer,
                                         const std::filesystem::path& run_dir);

}  // namespace kd
