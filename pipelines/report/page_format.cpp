#include "pipelines/report/page_format.h"

namespace kd {

namespace {

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

}  // namespace

std::unique_ptr<PageFormat> markdown_format() { return std::make_unique<Markdown>(); }
std::unique_ptr<PageFormat> html_format() { return std::make_unique<Html>(); }

}  // namespace kd
