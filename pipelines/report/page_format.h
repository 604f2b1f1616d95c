// The pieces a report page is made of — headings, paragraphs, bullets, tables, figures — in one
// output format: a page is laid out once over this interface, and Markdown and HTML each write it.
#pragma once

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "pipelines/report/results.h"

namespace kd {

struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
};

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

/// report.md's format.
std::unique_ptr<PageFormat> markdown_format();
/// report.html's: one standalone page, styles inline, every text escaped.
std::unique_ptr<PageFormat> html_format();

}  // namespace kd
