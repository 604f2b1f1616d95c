// Checking kdpipe's errors from tests: the message of the error a call throws, and the one line
// a failed command prints.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "lib/core/error.h"
#include "tests/support/process.h"

namespace kd::testing {

/// The message of the kd::Error that `f` throws, or "no error".
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

/// A failed command printed exactly one line, and it contains `needle`.
inline void expect_one_line_error(const ProcessResult& r, const std::string& needle) {
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  EXPECT_NE(r.output.find(needle), std::string::npos) << r.output;
}

}  // namespace kd::testing
