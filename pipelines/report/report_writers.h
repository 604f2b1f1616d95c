// What `kdpipe report` writes from one report model: report.json, report.md and a standalone
// report.html, each a ReportWriter over the same const Report&, and figures drawn by gnuplot
// (each PNG and SVG beside its .gp script and .tsv data, so a user can restyle it). The pages hold
// no number that report.json does not.
#pragma once

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "pipelines/report/results.h"

namespace kd {

/// One format of the report: its file name in the report folder and its text.
class ReportWriter {
 public:
  virtual ~ReportWriter() = default;
  virtual std::string file_name() const = 0;
  virtual std::string render(const Report& report) const = 0;
};

/// report.json (schema kdpipe-report, version kReportSchemaVersion).
std::unique_ptr<ReportWriter> json_writer();
/// report.md.
std::unique_ptr<ReportWriter> markdown_writer();
/// report.html: one page that opens with no network, styles inline, figures from figures/.
std::unique_ptr<ReportWriter> html_writer();

/// The report as report.json holds it.
nlohmann::json to_json(const Report& report);

/// Writes report_dir/figures/*.{tsv,gp,png,svg}; returns the figures drawn. StorageError when
/// gnuplot is missing or fails, naming the script.
std::vector<FigureFiles> write_figures(const Report& report,
                                       const std::filesystem::path& report_dir);

/// build_report, figures, and every writer's file in run_dir/report/.
Report write_report(const std::filesystem::path& run_dir);

}  // namespace kd
