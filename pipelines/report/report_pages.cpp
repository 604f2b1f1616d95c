// report.md and report.html: the page's content is laid out once (report_page below) over a
// small format interface, which Markdown and HTML each implement; no table is written twice.
#include <sstream>

#include "lib/core/error.h"
#include "lib/core/files.h"
#include "pipelines/report/report_model.h"
#include "pipelines/report/report_text.h"
#include "pipelines/report/report_writers.h"

namespace kd {

namespace fs = std::filesystem;
using report_text::num;
using report_text::plain;

namespace {

struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
};

// The pieces a page is made of, in one output format.
class PageFormat {
 public:
  virtual ~PageFormat() = default;
  virtual void begin(const std::string& title) = 0;
  virtual void heading(int level, const std::string& text) = 0;
  /// A paragraph of plain text with `code` set in monospace between `before` and `after`.
  virtual void paragraph(const std::string& before, const std::string& code,
                         const std::string& after) = 0;
  virtual void bullets(const std::vector<std::string>& items) = 0;
  virtual void table(const Table& t) = 0;
  virtual void figure(const FigureFiles& f) = 0;
  virtual void end() = 0;
  std::string text() const { return out_.str(); }

 protected:
  std::ostringstream out_;
};

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

class Markdown : public PageFormat {
 public:
  void begin(const std::string& title) override { out_ << "# " << title << "\n\n"; }
  void heading(int level, const std::string& text) override {
    out_ << std::string(static_cast<std::size_t>(level), '#') << " " << text << "\n\n";
  }
  void paragraph(const std::string& before, const std::string& code,
                 const std::string& after) override {
    out_ << before << "`" << code << "`" << after << "\n\n";
  }
  void bullets(const std::vector<std::string>& items) override {
    for (const std::string& item : items) out_ << "- " << item << "\n";
    out_ << "\n";
  }
  void table(const Table& t) override {
    row(t.header);
    out_ << "|";
    for (std::size_t i = 0; i < t.header.size(); ++i) out_ << "---|";
    out_ << "\n";
    for (const auto& r : t.rows) row(r);
    out_ << "\n";
  }
  void figure(const FigureFiles& f) override {
    out_ << "### " << f.title << "\n\n![" << f.title << "](" << f.png << ")\n\nData: `" << f.tsv
         << "`, script: `" << f.gp << "`.\n\n";
  }
  void end() override {}

 private:
  void row(const std::vector<std::string>& cells) {
    out_ << "|";
    for (const std::string& c : cells) {
      std::string cell;
      for (char ch : c) cell += ch == '|' ? std::string("\\|") : std::string(1, ch);
      out_ << " " << cell << " |";
    }
    out_ << "\n";
  }
};

class Html : public PageFormat {
 public:
  void begin(const std::string& title) override {
    out_ << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" << esc(title)
         << "</title>\n"
         << "<style>body{font-family:sans-serif;max-width:72em;margin:2em auto;padding:0 1em}"
            "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;"
            "padding:.3em .6em;text-align:right}th{background:#f3f3f3}"
            "td:first-child{text-align:left}img{max-width:100%}</style></head><body>\n<h1>"
         << esc(title) << "</h1>\n";
  }
  void heading(int level, const std::string& text) override {
    out_ << "<h" << level << ">" << esc(text) << "</h" << level << ">\n";
  }
  void paragraph(const std::string& before, const std::string& code,
                 const std::string& after) override {
    out_ << "<p>" << esc(before) << "<code>" << esc(code) << "</code>" << esc(after) << "</p>\n";
  }
  void bullets(const std::vector<std::string>& items) override {
    out_ << "<ul>\n";
    for (const std::string& item : items) out_ << "<li>" << esc(item) << "</li>\n";
    out_ << "</ul>\n";
  }
  void table(const Table& t) override {
    out_ << "<table><tr>";
    for (const std::string& h : t.header) out_ << "<th>" << esc(h) << "</th>";
    out_ << "</tr>\n";
    for (const auto& r : t.rows) {
      out_ << "<tr>";
      for (const std::string& c : r) out_ << "<td>" << esc(c) << "</td>";
      out_ << "</tr>\n";
    }
    out_ << "</table>\n";
  }
  void figure(const FigureFiles& f) override {
    out_ << "<figure><img src=\"" << esc(f.svg) << "\" alt=\"" << esc(f.title) << "\"><figcaption>"
         << esc(f.title) << " — data <code>" << esc(f.tsv) << "</code>, script <code>" << esc(f.gp)
         << "</code></figcaption></figure>\n";
  }
  void end() override { out_ << "</body></html>\n"; }

 private:
  // Text and attribute values alike: every character HTML gives a meaning to.
  static std::string esc(const std::string& s) {
    std::string out;
    for (char c : s) {
      switch (c) {
        case '<':
          out += "&lt;";
          break;
        case '>':
          out += "&gt;";
          break;
        case '&':
          out += "&amp;";
          break;
        case '"':
          out += "&quot;";
          break;
        case '\'':
          out += "&#39;";
          break;
        default:
          out += c;
      }
    }
    return out;
  }
};

template <typename Format>
class PageWriter : public ReportWriter {
 public:
  explicit PageWriter(std::string file) : file_(std::move(file)) {}
  std::string file_name() const override { return file_; }
  std::string render(const Report& r) const override {
    Format page;
    return report_page(r, page);
  }

 private:
  std::string file_;
};

}  // namespace

std::unique_ptr<ReportWriter> markdown_writer() {
  return std::make_unique<PageWriter<Markdown>>("report.md");
}

std::unique_ptr<ReportWriter> html_writer() {
  return std::make_unique<PageWriter<Html>>("report.html");
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
