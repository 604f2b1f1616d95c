// End-to-end: runs the kdpipe binary as a user would and checks exit status and messages.
#include <gtest/gtest.h>
#include <torch/script.h>

#include <fstream>

#include "lib/core/files.h"
#include "tests/support/errors.h"
#include "tests/support/process.h"
#include "tests/support/synthetic.h"
#include "tests/support/temp_dir.h"

namespace kd {
namespace {

namespace fs = std::filesystem;

using testing::expect_one_line_error;
using testing::ProcessResult;

ProcessResult run(const std::string& args) { return testing::run_kdpipe(args); }

class Cli : public ::testing::Test {
 protected:
  void SetUp() override { testing::write_synthetic_mnist(dir_ / "data", 400, 100); }
  std::string teach(const std::string& extra, const std::string& arch = "mlp:16") {
    return "teach --dataset mnist --data-dir " + (dir_ / "data").string() +
           " --val-size 100 --arch " + arch + " --epochs 1 --mi-examples 10 --threads 1 --out " +
           (dir_ / "out").string() + " " + extra;
  }
  testing::TempDir dir_;
};

TEST_F(Cli, HelpListsCommandsAndEveryTeachOption) {
  const ProcessResult top = run("--help");
  EXPECT_EQ(top.status, 0);
  EXPECT_NE(top.output.find("teach"), std::string::npos);
  const ProcessResult help = run("teach --help");
  EXPECT_EQ(help.status, 0);
  for (const char* opt : {"--dataset", "--data-dir", "--val-size", "--arch", "--smoothing",
                          "--epochs", "--batch-size", "--lr", "--schedule", "--seed", "--augment",
                          "--threads", "--device", "--out"}) {
    EXPECT_NE(help.output.find(opt), std::string::npos) << opt;
  }
  EXPECT_EQ(run("frobnicate").status, 2);
}

TEST_F(Cli, TeachRunsEndToEnd) {
  const ProcessResult r = run(teach("--smoothing 0.1 --augment shift-flip"));
  ASSERT_EQ(r.status, 0) << r.output;
  const auto m = nlohmann::json::parse(read_text(dir_ / "out" / "metrics.json"));
  EXPECT_EQ(m["options"]["augment"], "shift-flip");
  EXPECT_EQ(m["options"]["threads"], 1);
  EXPECT_TRUE(fs::exists(dir_ / "out" / "model.pt"));
  // Not a terminal: one plain line per epoch, no carriage returns.
  EXPECT_NE(r.output.find("epoch 1/1"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find('\r'), std::string::npos);
}

// A teacher trained elsewhere: evaluated by `teach --torchscript`, cached from that directory
// (which carries the ε the user stated), and distilled — the README's recipe.
TEST_F(Cli, TorchScriptTeacherFromEvaluationToStudent) {
  torch::jit::Module m("Linear");
  m.register_parameter("w", torch::randn({784, 10}) * 0.05, false);
  m.define(R"(
    def forward(self, x):
        return torch.matmul(x.flatten(1), self.w)
  )");
  m.save((dir_ / "teacher.pt").string());
  const std::string data =
      " --dataset mnist --data-dir " + (dir_ / "data").string() + " --val-size 100 --threads 1";
  const fs::path eval = dir_ / "eval", cache = dir_ / "train.h5";
  const ProcessResult taught =
      run("teach --torchscript " + (dir_ / "teacher.pt").string() +
          " --input unit --smoothing 0.1 --mi-examples 10 --out " + eval.string() + data);
  ASSERT_EQ(taught.status, 0) << taught.output;
  EXPECT_NE(taught.output.find("test accuracy"), std::string::npos) << taught.output;
  EXPECT_FALSE(fs::exists(eval / "model.pt"));

  expect_one_line_error(run("cache --teacher " + eval.string() + " --out " + cache.string() + data),
                        "--input normalized: " + eval.string() + " was evaluated on unit input");
  const ProcessResult cached = run("cache --teacher " + eval.string() +
                                   " --input unit --views 2 --out " + cache.string() + data);
  ASSERT_EQ(cached.status, 0) << cached.output;
  const ProcessResult inspected = run("inspect " + cache.string());
  EXPECT_EQ(inspected.status, 0) << inspected.output;
  EXPECT_NE(inspected.output.find("torchscript"), std::string::npos) << inspected.output;

  const ProcessResult student =
      run("distill --cache " + cache.string() + " --arch mlp:8 --epochs 1 --temperature 2 --out " +
          (dir_ / "student").string() + data);
  ASSERT_EQ(student.status, 0) << student.output;
  const auto sm = nlohmann::json::parse(read_text(dir_ / "student" / "metrics.json"));
  EXPECT_EQ(sm["teacher"]["source"], "torchscript");
  EXPECT_EQ(sm["teacher"]["smoothing"], 0.1);

  // The file changes after its evaluation: the cache refuses the stale directory.
  torch::jit::Module other = m.clone();
  other.setattr("w", torch::zeros({784, 10}));
  other.save((dir_ / "teacher.pt").string());
  expect_one_line_error(run("cache --teacher " + eval.string() + " --input unit --out " +
                            (dir_ / "stale.h5").string() + data),
                        "changed since");
}

TEST_F(Cli, BadOptionsEndWithOneLineNamingTheOption) {
  expect_one_line_error(run(teach("--smoothing 1.5")), "--smoothing");
  expect_one_line_error(run(teach("--smoothing -0.1")), "--smoothing");
  expect_one_line_error(run(teach("--epochs 0")), "--epochs");
  expect_one_line_error(run(teach("--epochs -2")), "--epochs");
  expect_one_line_error(run(teach("", "transformer:12")), "transformer:12");
  expect_one_line_error(run(teach("--augment rotate")), "--augment");
  expect_one_line_error(run(teach("--smoothing abc")), "smoothing");
  expect_one_line_error(run(teach("--no-such-option 3")), "no-such-option");
  expect_one_line_error(run("teach --dataset imagenet --out " + (dir_ / "o").string()), "imagenet");
  EXPECT_FALSE(fs::exists(dir_ / "out" / "metrics.json"));
}

// A file named as a cache that is not HDF5 is described as such.
TEST_F(Cli, InspectNamesADamagedCacheAsACache) {
  std::ofstream(dir_ / "empty.h5").flush();
  expect_one_line_error(run("inspect " + (dir_ / "empty.h5").string()),
                        "empty.h5: empty (0 bytes), not a logit cache");
  std::ofstream(dir_ / "junk.h5") << "not hdf5 at all";
  expect_one_line_error(run("inspect " + (dir_ / "junk.h5").string()), "junk.h5: not an HDF5 file");
}

// Values that parsed into something else, or were silently ignored, before.
TEST_F(Cli, OutOfRangeValuesAreRefusedNotReinterpreted) {
  expect_one_line_error(run(teach("--seed -1")), "--seed: expected a whole number >= 0");
  expect_one_line_error(run(teach("--epochs 4294967297")), "--epochs");
  expect_one_line_error(run(teach("", "mlp:-5")), "widths are positive whole numbers");
  expect_one_line_error(run(teach("", "mlp:999999999")), "above kdpipe's limit of 65536");
  expect_one_line_error(
      run("teach --threads 100000" + std::string(" --out ") + (dir_ / "t").string()),
      "--threads 100000: this process may use");
  const std::string data =
      " --dataset mnist --data-dir " + (dir_ / "data").string() + " --val-size 50";
  expect_one_line_error(run("cache --teacher " + dir_.path().string() + data +
                            " --temperatures 1 1 --out " + (dir_ / "c.h5").string()),
                        "--temperatures: a temperature is listed twice");
  EXPECT_FALSE(fs::exists(dir_ / "c.h5.partial"));
  expect_one_line_error(run("distill --cache " + (dir_ / "data").string() + data +
                            " --arch mlp:8 --out " + (dir_ / "s").string()),
                        "a directory, not a cache file");
  expect_one_line_error(run("distill --baseline hard --train-subset 999999" + data +
                            " --arch mlp:8 --out " + (dir_ / "s").string()),
                        "--train-subset 999999: the training split has only 350 examples");
}

TEST_F(Cli, BadDataEndsWithOneLineNamingTheFile) {
  expect_one_line_error(run("teach --dataset mnist --data-dir " + (dir_ / "nowhere").string() +
                            " --out " + (dir_ / "o").string()),
                        "nowhere");
  // Truncated pixel data.
  const fs::path images = dir_ / "data" / "train-images-idx3-ubyte.gz";
  testing::write_bytes(
      images,
      std::string("\0\0\x08\x03\0\0\x01\x90\0\0\0\x1c\0\0\0\x1c", 16) + std::string(1000, 'x'),
      true);
  expect_one_line_error(run(teach("")), "truncated");
  // Wrong magic.
  testing::write_bytes(images, std::string("\0\0\x08\x01\0\0\x01\x90", 8), true);
  expect_one_line_error(run(teach("")), "train-images-idx3-ubyte.gz");
  // Label count that does not match the image count.
  testing::write_synthetic_mnist(dir_ / "data", 400, 100);
  testing::write_idx_labels(dir_ / "data" / "train-labels-idx1-ubyte.gz",
                            torch::zeros({399}, torch::kInt64), true);
  expect_one_line_error(run(teach("")), "399 labels for 400 images");
}

}  // namespace
}  // namespace kd

namespace kd {
namespace {

// OpenBLAS falls back to its generic "Prescott" kernels on a CPU it does not recognise (this
// machine, some days); kdpipe then re-runs itself with the kernels the CPU's instructions allow.
// OPENBLAS_VERBOSE=2 prints the core OpenBLAS chose each time it loads: the last one counts.
// The wiring, end to end: on a CPU OpenBLAS recognises this holds whatever kdpipe does, so the
// decision itself is Blas.GenericKernelsAreReplacedOnlyWhereTheCpuAllowsBetter (runtime_test).
TEST(Blas, TheBinaryEndsWithBetterThanGenericKernels) {
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma"))
    GTEST_SKIP() << "this CPU has no AVX2 and FMA: the generic kernels are the right ones";
  const testing::ProcessResult r =
      testing::run_command("env -u OPENBLAS_CORETYPE OPENBLAS_VERBOSE=2 " +
                           testing::kdpipe_binary().string() + " --version");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto at = r.output.rfind("Core: ");
  if (at == std::string::npos) GTEST_SKIP() << "LibTorch's BLAS here is not OpenBLAS";
  const std::string core = r.output.substr(at + 6, r.output.find('\n', at) - at - 6);
  EXPECT_NE(core, "Prescott") << r.output;
}

}  // namespace
}  // namespace kd
