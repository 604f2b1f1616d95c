// The report of a study run as one JSON document (report.json): every number the Markdown and
// HTML pages and the figures show comes from here, recomputed from the stages' metrics files.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>

namespace kd {

constexpr const char* kReportSchema = "kdpipe-report";
constexpr int kReportSchemaVersion = 2;

/// Reads run_dir/manifest.json and every finished stage's metrics.json: teachers (accuracy,
/// NLL, ECE, temperature scaling, MI curve, stability, reliability bins), student groups
/// (accuracy mean and min–max over seeds, ECE, γ) with the baselines, and a verdict in words.
/// StorageError naming the file when the run directory has no manifest.
nlohmann::json build_report(const std::filesystem::path& run_dir);

/// The verdict's sentences, computed from a report's teachers and students (pipelines/report/
/// verdict.cpp): each teacher's temperature is chosen on validation accuracy, and a difference is
/// called real only when its 95% interval (paired t over shared seeds, Welch otherwise) excludes 0.
/// `comparisons` are the report's teacher_comparisons (single-seed teachers compared example by
/// example on the test set); without them such teachers are not judged.
nlohmann::json verdict(const nlohmann::json& teachers, const nlohmann::json& students,
                       const nlohmann::json& comparisons = nlohmann::json::array());

}  // namespace kd
