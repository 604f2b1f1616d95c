#include "pipelines/study/study_reader.h"

#include <sstream>

#include "lib/core/files.h"

namespace kd::study_file {

std::string study_text(const fs::path& file) {
  std::string text = read_text(file);
  if (text.rfind("\xEF\xBB\xBF", 0) == 0) text.erase(0, 3);
  return text;
}

// Where each key was set, for messages: "section.key" → line number.
std::map<std::string, int> key_lines(const fs::path& file) {
  std::map<std::string, int> lines;
  std::istringstream in(study_text(file));
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
