#include "lib/core/names.h"

#include <algorithm>
#include <cstdio>

#include "lib/core/error.h"

namespace kd {

namespace {

// The length of the UTF-8 sequence starting at text[i], or 0 when none starts there (a stray
// continuation byte, an overlong form, a surrogate, a code point past U+10FFFF, a cut sequence).
std::size_t utf8_length(const std::string& text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char b = byte(i);
  if (b < 0x80) return 1;
  std::size_t n = 0;
  unsigned int code = 0, least = 0;
  if ((b & 0xe0) == 0xc0)
    n = 2, code = b & 0x1f, least = 0x80;
  else if ((b & 0xf0) == 0xe0)
    n = 3, code = b & 0x0f, least = 0x800;
  else if ((b & 0xf8) == 0xf0)
    n = 4, code = b & 0x07, least = 0x10000;
  else
    return 0;
  if (i + n > text.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xc0) != 0x80) return 0;
    code = (code << 6) | (byte(i + k) & 0x3f);
  }
  if (code < least || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return 0;
  return n;
}

bool folder_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-' || c == '+' || c == '=';
}

}  // namespace

std::string path_text_problem(const std::string& text) {
  for (std::size_t i = 0; i < text.size();) {
    const auto b = static_cast<unsigned char>(text[i]);
    if (b < 0x20 || b == 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02x", b);
      return "byte " + std::to_string(i + 1) + " is a control character (" + hex + ")";
    }
    const std::size_t n = utf8_length(text, i);
    if (n == 0) return "byte " + std::to_string(i + 1) + " is not UTF-8";
    i += n;
  }
  return "";
}

void check_path_text(const std::string& text, const std::string& what) {
  const std::string problem = path_text_problem(text);
  check<ConfigError>(problem.empty(), what, ": '", escaped(text), "': ", problem,
                     "; expected valid UTF-8 without control characters (kdpipe writes it into "
                     "scripts and JSON records)");
}

bool is_stage_folder(const std::string& id) {
  std::size_t start = 0;
  while (true) {
    const std::size_t end = std::min(id.find('/', start), id.size());
    const std::string part = id.substr(start, end - start);
    if (part.empty() || part.size() > 128 || part == "." || part == "..") return false;
    for (char c : part) {
      if (!folder_char(c)) return false;
    }
    if (end == id.size()) return true;
    start = end + 1;
  }
}

std::string printable(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    const auto b = static_cast<unsigned char>(text[i]);
    const std::size_t n = (b < 0x20 || b == 0x7f) ? 0 : utf8_length(text, i);
    if (n == 0) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", b);
      out += hex;
      ++i;
    } else {
      out.append(text, i, n);
      i += n;
    }
  }
  return out;
}

std::string escaped(const std::string& text) {
  std::string out;
  for (char c : text) {
    const auto b = static_cast<unsigned char>(c);
    if (b >= 0x20 && b < 0x7f) {
      out += c;
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", b);
      out += hex;
    }
  }
  return out;
}

}  // namespace kd
