// The README's walkthroughs run as they stand: a block marked `<!-- walkthrough: NAME … -->` is
// cut out of README.md and run by bash in an empty folder where build/kdpipe is this build's
// binary, so a README that drifts from the program fails here.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "lib/core/files.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace kd {
namespace {

namespace fs = std::filesystem;

// The ```sh block after the marker of walkthrough `name`; "" when the README has none.
std::string walkthrough(const std::string& name) {
  const std::string readme = read_text(testing::source_dir() / "README.md");
  const std::size_t marker = readme.find("<!-- walkthrough: " + name + " ");
  if (marker == std::string::npos) return "";
  const std::size_t open = readme.find("```sh\n", marker);
  const std::size_t close = readme.find("\n```\n", open);
  if (open == std::string::npos || close == std::string::npos) return "";
  return readme.substr(open + 6, close + 1 - (open + 6));
}

// Runs a walkthrough in `dir` (build/kdpipe is this build's binary); its output.
testing::ProcessResult run_walkthrough(const std::string& name, const fs::path& dir) {
  const std::string script = walkthrough(name);
  EXPECT_FALSE(script.empty()) << "README.md has no walkthrough '" << name << "'";
  fs::create_directories(dir / "build");
  fs::create_symlink(testing::kdpipe_binary(), dir / "build" / "kdpipe");
  std::ofstream(dir / "walkthrough.sh") << "set -euo pipefail\n" << script;
  return testing::run_command("cd " + dir.string() + " && bash walkthrough.sh");
}

// Your own student: defined in Python, distilled by kdpipe, loaded back in Python, where its test
// accuracy is the one kdpipe measured.
TEST(ReadmeWalkthrough, OwnStudent) {
  if (!fs::exists("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz")) {
    GTEST_SKIP() << "needs Debian's dataset-fashion-mnist (bash .ci/setup installs it)";
  }
  const testing::TempDir dir;
  const testing::ProcessResult r = run_walkthrough("own-student", dir.path());
  ASSERT_EQ(r.status, 0) << r.output;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.output, m, std::regex("test accuracy ([0-9.]+)\n"))) << r.output;
  const double python = std::stod(m[1]);
  const auto metrics = nlohmann::json::parse(read_text(dir / "my-kd/student/metrics.json"));
  EXPECT_EQ(metrics["model"]["arch"].get<std::string>().rfind("torchscript:", 0), 0u);
  EXPECT_NEAR(python, metrics["test"]["accuracy"].get<double>(), 1e-4) << r.output;
  EXPECT_GT(python, 0.7) << r.output;  // it learned: Fashion-MNIST's chance is 0.1
}

// Top-k caches: cached, inspected and taught from by kdpipe; rebuilt in Python by the README's
// five lines of h5py into rows that sum to 1 (to float16's rounding).
TEST(ReadmeWalkthrough, TopK) {
  if (!fs::exists("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz")) {
    GTEST_SKIP() << "needs Debian's dataset-fashion-mnist (bash .ci/setup installs it)";
  }
  const testing::TempDir dir;
  const testing::ProcessResult r = run_walkthrough("top-k", dir.path());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("/top_k/indices int16 [2, 55000, 3]"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("top-3, rows rebuilt by uniform, 18."), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("intact:"), std::string::npos) << r.output;
  const auto metrics = nlohmann::json::parse(read_text(dir / "topk/student/metrics.json"));
  EXPECT_EQ(metrics["cache"]["top_k"], 3);
  EXPECT_GT(metrics["test"]["accuracy"].get<double>(), 0.6) << r.output;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      r.output, m, std::regex("rebuilt \\(55000, 10\\) row sums ([0-9.e-]+) to ([0-9.e-]+)\n")))
      << r.output;
  EXPECT_NEAR(std::stod(m[1]), 1.0, 3e-3);
  EXPECT_NEAR(std::stod(m[2]), 1.0, 3e-3);
}

}  // namespace
}  // namespace kd
