#include "pipelines/study/study_reader.h"

#include <fstream>

namespace kd::study_file {

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
