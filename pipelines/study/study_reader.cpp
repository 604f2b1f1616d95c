#include "pipelines/study/study_reader.h"

#include <fstream>

namespace kd::study_file {

// Every key a study file may hold, with its default ("" where the key is required).
const std::vector<std::pair<std::string, std::string>>& keys() {
  static const std::vector<std::pair<std::string, std::string>> all = {
      {"study.name", "study"},
      {"study.jobs", "1"},
      {"study.threads", "0"},
      {"study.device", "cpu"},
      {"study.executor", "local"},
      {"study.sbatch", ""},
      {"data.dataset", "fashion-mnist"},
      {"data.data-dir", ""},
      {"data.val-size", "5000"},
      {"data.image-size", ""},
      {"data.channels", "0"},
      {"teacher.arch", "mlp:1200-1200"},
      {"teacher.smoothing", "0 0.1"},
      {"teacher.seeds", "0"},
      {"teacher.epochs", "15"},
      {"teacher.batch-size", "128"},
      {"teacher.lr", "0.1"},
      {"teacher.momentum", "0.9"},
      {"teacher.weight-decay", "5e-4"},
      {"teacher.schedule", "cosine"},
      {"teacher.augment", "shift-flip"},
      {"teacher.torchscript", ""},
      {"teacher.torchscript-smoothing", ""},
      {"teacher.torchscript-input", "normalized"},
      {"teacher.mi-classes", "0 1"},
      {"teacher.mi-examples", "300"},
      {"teacher.mi-views", "5"},
      {"cache.views", "4"},
      {"cache.temperatures", "1 2 4 8"},
      {"cache.augment", "shift-flip"},
      {"cache.seed", "0"},
      {"cache.half", "false"},
      {"cache.compress", "0"},
      {"student.arch", "mlp:800-800"},
      {"student.temperature", "1 2 4 8"},
      {"student.alpha", "1"},
      {"student.student-temperature", "0"},
      {"student.seeds", "0"},
      {"student.train-subset", "0"},
      {"student.epochs", "30"},
      {"student.batch-size", "128"},
      {"student.lr", "0.05"},
      {"student.momentum", "0.9"},
      {"student.weight-decay", "5e-4"},
      {"student.schedule", "cosine"},
      {"baseline.hard", "true"},
      {"baseline.smoothing", "0.1"},
      {"report.projection-classes", "0 1 2"},
      {"report.projection-examples", "100"},
  };
  return all;
}

// Where each key was set, for messages: "section.key" → line number.
std::map<std::string, int> key_lines(const fs::path& file) {
  std::map<std::string, int> lines;
  std::ifstream in(file);
  std::string line, section;
  for (int n = 1; std::getline(in, line); ++n) {
    const auto first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#' || line[first] == ';') continue;
    if (line[first] == '[') {
      section = line.substr(first + 1, line.find(']') - first - 1);
      continue;
    }
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string key = line.substr(first, eq - first);
    key.erase(key.find_last_not_of(" \t") + 1);
    lines[section.empty() ? key : section + "." + key] = n;
  }
  return lines;
}

}  // namespace kd::study_file
