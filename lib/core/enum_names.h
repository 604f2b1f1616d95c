// Enums as words: a specialisation of EnumNames lists each value's name once, used both to
// write it (to_string) and to read it (parse_enum: ConfigError naming what was expected).
#pragma once

#include <array>
#include <cstddef>
#include <string>

#include "lib/core/error.h"

namespace kd {

template <typename E>
struct EnumNames;  // `names`: each value's name, in declaration order

template <typename E, typename = decltype(EnumNames<E>::names)>
std::string to_string(E value) {
  return EnumNames<E>::names.at(static_cast<std::size_t>(value));
}

/// The value named `text`; ConfigError "WHAT: expected a, b or c, got 'x'" otherwise (without
/// "WHAT: " when `what` is empty).
template <typename E>
E parse_enum(const std::string& text, const std::string& what = "") {
  const auto& names = EnumNames<E>::names;
  std::string expected;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (text == names[i]) return static_cast<E>(i);
    expected += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + std::string(names[i]);
  }
  throw ConfigError((what.empty() ? "" : what + ": ") + "expected " + expected + ", got '" + text +
                    "'");
}

}  // namespace kd
