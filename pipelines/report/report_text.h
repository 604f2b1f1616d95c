// How the report's pages and figures write numbers and group names: shared by the page writers
// (report_pages.cpp) and the figures (report_figures.cpp).
#pragma once

#include <optional>
#include <sstream>
#include <string>

#include "pipelines/report/results.h"

namespace kd::report_text {

inline std::string num(double v, int digits = 4) {
  std::ostringstream o;
  o.precision(digits);
  o << std::fixed << v;
  return o.str();
}

// A number of the report, or "-" where it has none (no temperature fitted with val-size = 0).
inline std::string num(const std::optional<double>& v, int digits = 4) {
  return v ? num(*v, digits) : "-";
}

inline std::string plain(double v) {
  std::ostringstream o;
  o << v;
  return o.str();
}

inline std::string plain(const std::optional<double>& v) { return v ? plain(*v) : "-"; }

// "0.8612–0.8650", or "-" for a group of one seed.
inline std::string interval(const StudentGroup& g) {
  return g.accuracy_ci95 ? num((*g.accuracy_ci95)[0]) + "–" + num((*g.accuracy_ci95)[1]) : "-";
}

inline std::string student_label(const StudentGroupKey& k) {
  if (k.source == StudentSource::hard) return "alone, hard labels";
  if (k.source == StudentSource::smooth) return "alone, label smoothing " + plain(k.smoothing);
  return "teacher eps " + plain(k.teacher_smoothing);
}

}  // namespace kd::report_text
