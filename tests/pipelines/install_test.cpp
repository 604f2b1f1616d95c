// `cmake --install` gives a prefix from which a separate CMake project finds kdpipe, links
// kdpipe::kdpipe, and reads a cache and a checkpoint that the installed kdpipe wrote.
#include <gtest/gtest.h>

#include "tests/support/process.h"
#include "tests/support/synthetic.h"
#include "tests/support/temp_dir.h"

namespace kd {
namespace {

TEST(Install, ConsumerBuildsAgainstThePackageAndReadsACache) {
  testing::TempDir dir;
  testing::write_synthetic_mnist(dir / "data", 200, 50);
  const std::string data =
      " --dataset mnist --data-dir " + (dir / "data").string() + " --val-size 50 --threads 1 ";
  ASSERT_EQ(testing::run_kdpipe("teach" + data + "--arch mlp:8 --epochs 1 --mi-examples 5 " +
                                "--out " + (dir / "t").string())
                .status,
            0);
  ASSERT_EQ(testing::run_kdpipe("cache --teacher " + (dir / "t").string() + data + "--out " +
                                (dir / "c.h5").string())
                .status,
            0);
  const testing::ProcessResult r = testing::run_command(
      "bash " + (testing::source_dir() / "tests/install/check_install.sh").string() + " " +
      testing::binary_dir().string() + " " + dir.path().string() + " " + (dir / "c.h5").string() +
      " " + (dir / "t" / "model.pt").string());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("kdpipe 0.3.0"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("cache mnist train N=150 C=10 teacher=mlp:8 logits=[150, 10] "
                          "labels=150"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("model mlp:8 parameters="), std::string::npos) << r.output;
}

}  // namespace
}  // namespace kd
