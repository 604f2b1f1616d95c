// report.md and report.html: the page's content is laid out once (report_page below) over the
// page format interface (page_format.h), which Markdown and HTML each implement.
#include <sstream>

#include "lib/core/error.h"
#include "lib/core/files.h"
#include "pipelines/report/page_format.h"
#include "pipelines/report/report_model.h"
#include "pipelines/report/report_text.h"
#include "pipelines/report/report_writers.h"

namespace kd {

namespace fs = std::filesystem;
using report_text::num;
using report_text::plain;

namespace {

Table teachers_table(const Report& r) {
  Table t{{"ε", "seed", "arch", "test acc.", "NLL", "ECE", "T (val)", "ECE after T", "final MI",
           "stability"},
          {}};
  for (const TeacherResult& x : r.teachers) {
    t.rows.push_back({plain(x.smoothing), std::to_string(x.seed), x.arch, num(x.test_accuracy),
                      num(x.test_nll), num(x.test_ece), num(x.temperature, 3),
                      num(x.test_ece_after_temperature), num(x.mi_final, 3), num(x.stability)});
  }
  return t;
}

Table caches_table(const Report& r) {
  Table t{{"cache", "examples × views", "classes", "soft labels", "bytes per example and view",
           "file (MB)"},
          {}};
  for (const CacheResult& c : r.caches) {
    t.rows.push_back(
        {c.id, std::to_string(c.examples) + " × " + std::to_string(c.views),
         std::to_string(c.classes),
         c.top_k > 0 ? "top-" + std::to_string(c.top_k) + ", " + c.top_k_rule : "whole rows",
         num(c.bytes_per_example_view, 1), num(static_cast<double>(c.file_bytes) / 1e6, 1)});
  }
  return t;
}

Table students_table(const Report& r) {
  Table t{{"learns from", "T", "α", "arch", "test acc. mean", "95% interval", "seeds", "ECE", "γ"},
          {}};
  for (const StudentGroup& g : r.students) {
    t.rows.push_back({report_text::student_label(g.key), plain(g.key.temperature),
                      plain(g.key.alpha), g.key.arch, num(g.accuracy_mean),
                      report_text::interval(g), std::to_string(g.n()), num(g.ece_mean),
                      num(g.gamma_mean, 3)});
  }
  return t;
}

// The page, in any format.
std::string report_page(const Report& r, PageFormat& page) {
  page.begin("kdpipe report");
  page.paragraph("Run ", r.run_dir, ", kdpipe " + r.kdpipe_version + ", " + r.created + ".");
  page.heading(2, "Verdict");
  page.bullets(r.verdict);
  page.heading(2, "Teachers");
  page.table(teachers_table(r));
  if (!r.caches.empty()) {
    page.heading(2, "Caches");
    page.table(caches_table(r));
  }
  page.heading(2, "Students");
  page.table(students_table(r));
  page.heading(2, "Figures");
  for (const FigureFiles& f : r.figures) page.figure(f);
  std::vector<std::string> missing;
  for (const TeacherResult& t : r.teachers) {
    if (!t.projection_note.empty()) missing.push_back(t.id + ": " + t.projection_note);
  }
  if (!missing.empty()) {
    page.paragraph("Teachers without a projection figure ", "features(x) + head", ":");
    page.bullets(missing);
  }
  page.end();
  return page.text();
}

class PageWriter : public ReportWriter {
 public:
  PageWriter(std::string file, std::unique_ptr<PageFormat> (*format)())
      : file_(std::move(file)), format_(format) {}
  std::string file_name() const override { return file_; }
  std::string render(const Report& r) const override {
    const std::unique_ptr<PageFormat> page = format_();
    return report_page(r, *page);
  }

 private:
  std::string file_;
  std::unique_ptr<PageFormat> (*format_)();
};
}  // namespace

std::unique_ptr<ReportWriter> markdown_writer() {
  return std::make_unique<PageWriter>("report.md", markdown_format);
}

std::unique_ptr<ReportWriter> html_writer() {
  return std::make_unique<PageWriter>("report.html", html_format);
}

Report write_report(const fs::path& run_dir) {
  Report report = build_report(run_dir);
  // Written inside the run only: a report folder that is a link out of it is refused.
  const fs::path dir = inside(run_dir, "report", "the report folder");
  ensure_directory(dir);
  report.figures = write_figures(report, dir);
  for (const auto& writer : {json_writer(), markdown_writer(), html_writer()}) {
    write_text_atomically(dir / writer->file_name(), writer->render(report));
  }
  return report;
}

}  // namespace kd
