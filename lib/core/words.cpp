#include "lib/core/words.h"

#include "lib/core/error.h"

namespace kd {

namespace {

bool blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

}  // namespace

std::vector<std::string> split_words(const std::string& text, const std::string& what) {
  std::vector<std::string> out;
  std::string word;
  bool in_word = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (blank(c)) {
      if (in_word) out.push_back(word);
      word.clear();
      in_word = false;
      continue;
    }
    in_word = true;
    if (c == '\\') {
      check<ConfigError>(i + 1 < text.size(), what, ": a \\ ends '", text,
                         "' (write \\\\ for a backslash)");
      word += text[++i];
    } else if (c == '\'') {
      const std::size_t end = text.find('\'', i + 1);
      check<ConfigError>(end != std::string::npos, what, ": a ' is not closed in '", text, "'");
      word += text.substr(i + 1, end - i - 1);
      i = end;
    } else if (c == '"') {
      for (++i;; ++i) {
        check<ConfigError>(i < text.size(), what, ": a \" is not closed in '", text, "'");
        if (text[i] == '"') break;
        if (text[i] == '\\' && i + 1 < text.size() && (text[i + 1] == '"' || text[i + 1] == '\\'))
          ++i;
        word += text[i];
      }
    } else {
      word += c;
    }
  }
  if (in_word) out.push_back(word);
  return out;
}

std::string quote_word(const std::string& word) {
  bool plain = !word.empty();
  for (char c : word) plain = plain && !blank(c) && c != '\'' && c != '"' && c != '\\';
  if (plain) return word;
  std::string out = "\"";
  for (char c : word) out += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
  return out + "\"";
}

std::string join_words(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& w : words) out += (out.empty() ? "" : " ") + quote_word(w);
  return out;
}

}  // namespace kd
