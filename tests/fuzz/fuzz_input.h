// What every fuzz target shares: the fuzzer's bytes as a file (kdpipe's readers take paths), and
// the rule that a reader may refuse bad bytes only with a named kdpipe error.
//
// Each target defines LLVMFuzzerTestOneInput. Built with clang's -fsanitize=fuzzer (bench/fuzz.sh)
// it is a libFuzzer binary; built normally it links replay_main.cpp and replays its corpus and
// the regressions of earlier crashes as a test of the normal suite.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

#include "lib/core/error.h"

namespace kd::fuzz {

/// Writes the input to this process's scratch directory as `name` and returns its path.
std::filesystem::path input_file(const uint8_t* data, std::size_t size, const std::string& name);

/// Runs `read` on the input. A kd::Error is a refusal by name, what every reader owes bad bytes;
/// any other exception escapes, and the fuzzer reports it as a crash.
template <typename Read>
void expect_named_refusal(Read&& read) {
  try {
    read();
  } catch (const kd::Error&) {
  }
}

}  // namespace kd::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size);
