#include "pipelines/study/summary.h"

#include <algorithm>
#include <map>
#include <sstream>

#include "lib/core/json_reader.h"

namespace kd {

namespace fs = std::filesystem;

namespace {

struct Spread {
  std::vector<double> values;
  std::string text() const {
    if (values.empty()) return "-";
    double sum = 0;
    for (double v : values) sum += v;
    const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
    char buf[96];
    if (values.size() == 1) {
      std::snprintf(buf, sizeof buf, "%.4f", values[0]);
    } else {
      std::snprintf(buf, sizeof buf, "%.4f (%.4f-%.4f, n=%zu)", sum / values.size(), *lo, *hi,
                    values.size());
    }
    return buf;
  }
};

std::string arg_after(const Stage& s, const std::string& flag) {
  const auto it = std::find(s.args.begin(), s.args.end(), flag);
  return it == s.args.end() || it + 1 == s.args.end() ? "" : *(it + 1);
}

}  // namespace

std::string summarize(const std::vector<Stage>& stages, const fs::path& run_dir) {
  std::map<std::string, Spread> teachers, students;
  for (const Stage& s : stages) {
    if (s.kind == StageKind::cache) continue;
    const fs::path metrics = run_dir / s.output;
    if (!fs::exists(metrics)) continue;
    const double acc = JsonDocument(metrics)["test"]["accuracy"].number_in(0, 1);
    if (s.kind == StageKind::teach) {
      teachers["teacher eps=" + arg_after(s, "--smoothing") + " " + arg_after(s, "--arch")]
          .values.push_back(acc);
    } else if (s.kind == StageKind::baseline) {
      const std::string b = arg_after(s, "--baseline");
      students[arg_after(s, "--arch") + " alone, " +
               (b == "hard" ? std::string("hard labels")
                            : "label smoothing " + arg_after(s, "--smoothing"))]
          .values.push_back(acc);
    } else {
      const std::string teacher =
          s.id.substr(s.id.find('/') + 1, s.id.find("-seed") - s.id.find('/') - 1);
      students[arg_after(s, "--arch") + " from " + teacher +
               ", T=" + arg_after(s, "--temperature") + ", alpha=" + arg_after(s, "--alpha")]
          .values.push_back(acc);
    }
  }
  std::ostringstream out;
  out << "test accuracy (mean (min-max, n) over seeds):\n";
  for (const auto& [name, spread] : teachers) out << "  " << name << ": " << spread.text() << "\n";
  for (const auto& [name, spread] : students) out << "  " << name << ": " << spread.text() << "\n";
  return out.str();
}

}  // namespace kd
