// How the report's pages and figures write numbers and group names: shared by the Markdown and
// HTML writers (report_writers.cpp) and the figures (report_figures.cpp).
#pragma once

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

namespace kd::report_text {

using json = nlohmann::json;

inline std::string num(double v, int digits = 4) {
  std::ostringstream o;
  o.precision(digits);
  o << std::fixed << v;
  return o.str();
}

// A number of the report, or "-" where it has none (no temperature fitted with val-size = 0).
inline std::string num(const json& v, int digits = 4) {
  return v.is_number() ? num(v.get<double>(), digits) : "-";
}

inline std::string plain(const json& v) {
  if (v.is_null()) return "-";
  std::ostringstream o;
  o << v.get<double>();
  return o.str();
}

// "0.8612–0.8650", or "-" for a group of one seed.
inline std::string interval(const json& g) {
  const json& ci = g["accuracy_ci95"];
  return ci.is_array() ? num(ci[0]) + "–" + num(ci[1]) : "-";
}

inline std::string student_label(const json& g) {
  if (g["kind"] == "hard") return "alone, hard labels";
  if (g["kind"] == "smooth") return "alone, label smoothing " + plain(g["smoothing"]);
  return "teacher eps " + plain(g["teacher_smoothing"]);
}

}  // namespace kd::report_text
