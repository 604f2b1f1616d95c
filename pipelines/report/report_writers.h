// What `kdpipe report` writes from one report model (report.json): figures drawn by gnuplot
// (each PNG and SVG beside its .gp script and .tsv data, so a user can restyle it), Markdown and a
// standalone HTML page. The pages hold no number that report.json does not.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>

namespace kd {

/// Writes report_dir/figures/*.{tsv,gp,png,svg}; returns the figures' entries (name, title,
/// files). StorageError when gnuplot is missing or fails, naming the script.
nlohmann::json write_figures(const nlohmann::json& report, const std::filesystem::path& report_dir);

std::string render_markdown(const nlohmann::json& report);
/// One page that opens with no network: styles inline, figures from figures/.
std::string render_html(const nlohmann::json& report);

/// build_report, figures, report.json, report.md and report.html in run_dir/report/.
nlohmann::json write_report(const std::filesystem::path& run_dir);

}  // namespace kd
