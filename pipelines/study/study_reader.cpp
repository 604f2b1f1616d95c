#include "pipelines/study/study_reader.h"

#include <sstream>

#include "lib/core/files.h"

namespace kd::study_file {

std::string study_text(const fs::path& file) {
  std::string text = read_text(file);
  if (text.rfind("\xEF\xBB\xBF", 0) == 0) text.erase(0, 3);
  return text;
}

namespace {

[[noreturn]] void bad_line(const fs::path& file, int n, const std::string& line) {
  constexpr std::size_t kShown = 60;
  const std::string shown = line.size() > kShown ? line.substr(0, kShown) + "..." : line;
  throw ConfigError(file.string() + ":" + std::to_string(n) +
                    ": expected 'key = value', '[section]' or a '#' comment, got '" + shown + "'");
}

}  // namespace

std::map<std::string, int> key_lines(const fs::path& file) {
  std::map<std::string, int> lines;
  std::istringstream in(study_text(file));
  std::string line, section;
  for (int n = 1; std::getline(in, line); ++n) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#' || line[first] == ';') continue;
    const auto last = line.find_last_not_of(" \t");
    if (line[first] == '[') {
      if (line[last] != ']' || last == first + 1) bad_line(file, n, line);
      section = line.substr(first + 1, last - first - 1);
      continue;
    }
    const auto eq = line.find('=');
    if (eq == std::string::npos || eq == first) bad_line(file, n, line);
    std::string key = line.substr(first, eq - first);
    key.erase(key.find_last_not_of(" \t") + 1);
    lines[section.empty() ? key : section + "." + key] = n;
  }
  return lines;
}

}  // namespace kd::study_file
