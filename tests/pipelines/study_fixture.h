// The study the pipeline tests share: small enough to run end to end in seconds, in a directory
// of its own with synthetic MNIST-layout data beside it.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "lib/core/error.h"
#include "pipelines/study/study.h"
#include "tests/support/process.h"
#include "tests/support/synthetic.h"
#include "tests/support/temp_dir.h"

namespace kd::testing {

// A study small enough to run end to end in seconds: 2 teachers, 2 caches, 4 students, 1 baseline.
inline const char* kTinyStudy = R"([study]
name = tiny
jobs = 2
threads = 2

[data]
dataset = mnist
data-dir = data
val-size = 50

[teacher]
arch = mlp:16
smoothing = 0 0.1
epochs = 1
mi-examples = 10

[cache]
views = 2
temperatures = 1 4

[student]
arch = mlp:8
temperature = 1 4
train-subset = 100
epochs = 2

[baseline]
hard = true
smoothing =

[report]
projection-classes = 3 1 4
projection-examples = 5
)";

class StudyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    write_synthetic_mnist(dir_ / "data", 300, 60);
    write(kTinyStudy);
  }
  void write(const std::string& text) const { std::ofstream(dir_ / "study.ini") << text; }
  std::string edited(const std::string& from, const std::string& to) const {
    std::string text = kTinyStudy;
    const auto at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return text.replace(at, from.size(), to);
  }
  std::string error_for(const std::string& text) const {
    write(text);
    try {
      load_study(dir_ / "study.ini");
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "no error";
  }
  ProcessResult run(const std::string& extra = "", const std::string& env = "") const {
    return run_kdpipe(
        "run " + (dir_ / "study.ini").string() + " --out " + (dir_ / "run").string() + " " + extra,
        env);
  }
  static int count(const std::string& text, const std::string& word) {
    int n = 0;
    for (auto at = text.find(word); at != std::string::npos; at = text.find(word, at + 1)) ++n;
    return n;
  }
  TempDir dir_;
};

}  // namespace kd::testing
