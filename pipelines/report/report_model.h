// The report of a study run as one typed model (results.h): every number the JSON, Markdown and
// HTML pages and the figures show comes from here, recomputed from the stages' metrics files.
#pragma once

#include <filesystem>

#include "pipelines/report/results.h"

namespace kd {

constexpr const char* kReportSchema = "kdpipe-report";
constexpr int kReportSchemaVersion = 2;

/// Reads run_dir/manifest.json and every finished stage's metrics.json: teachers (accuracy,
/// NLL, ECE, temperature scaling, MI curve, stability, reliability bins, projection), student
/// groups over seeds with the baselines, single-seed teacher comparisons and the verdict.
/// StorageError naming the file (and field) when the run directory has no manifest or a file is
/// malformed.
Report build_report(const std::filesystem::path& run_dir);

/// The verdict's sentences (pipelines/report/verdict.cpp): each teacher's temperature is chosen
/// on validation accuracy, and a difference is called real only when its 95% interval (paired t
/// over shared seeds, Welch otherwise) excludes 0. `comparisons` are single-seed teachers
/// compared example by example on the test set; without them such teachers are not judged.
/// With `student_lines` false (the students are compared by the sequential rule instead), only
/// the sentences about the teachers themselves, whose recipe claim is stated undecided with the
/// teacher seeds that would decide it within ±`precision_points`.
std::vector<std::string> verdict(const std::vector<TeacherResult>& teachers,
                                 const std::vector<StudentGroup>& students,
                                 const std::vector<TeacherComparison>& comparisons = {},
                                 bool student_lines = true, double precision_points = 0.3);

}  // namespace kd
