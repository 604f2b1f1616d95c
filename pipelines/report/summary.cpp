#include "pipelines/report/summary.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <sstream>

#include "lib/core/number_text.h"

namespace kd {

namespace {

// "0.8712 (0.8690-0.8731, n=3)", or the one value.
std::string spread(double mean, double low, double high, std::size_t n) {
  char buf[96];
  if (n == 1) {
    std::snprintf(buf, sizeof buf, "%.4f", mean);
  } else {
    std::snprintf(buf, sizeof buf, "%.4f (%.4f-%.4f, n=%zu)", mean, low, high, n);
  }
  return buf;
}

std::string optional_text(const std::optional<double>& v) { return v ? exact_text(*v) : "?"; }

std::string group_name(const StudentGroupKey& k) {
  switch (k.source) {
    case StudentSource::distill:
      return k.arch + " from eps" + optional_text(k.teacher_smoothing) +
             ", T=" + optional_text(k.temperature) + ", alpha=" + optional_text(k.alpha);
    case StudentSource::smooth:
      return k.arch + " alone, label smoothing " + optional_text(k.smoothing);
    case StudentSource::hard:
      break;
  }
  return k.arch + " alone, hard labels";
}

}  // namespace

std::string summarize(const Report& report) {
  std::map<std::string, std::vector<double>> teachers;  // teachers of one ε and architecture
  for (const TeacherResult& t : report.teachers) {
    teachers["teacher eps=" + exact_text(t.smoothing) + " " + t.arch].push_back(t.test_accuracy);
  }
  std::ostringstream out;
  out << "test accuracy (mean (min-max, n) over seeds):\n";
  for (const auto& [name, values] : teachers) {
    double sum = 0;
    for (double v : values) sum += v;
    const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
    out << "  " << name << ": "
        << spread(sum / static_cast<double>(values.size()), *lo, *hi, values.size()) << "\n";
  }
  for (const StudentGroup& g : report.students) {
    out << "  " << group_name(g.key) << ": "
        << spread(g.accuracy_mean, g.accuracy_min, g.accuracy_max, g.n()) << "\n";
  }
  return out.str();
}

}  // namespace kd
