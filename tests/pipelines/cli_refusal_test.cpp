// What the third probe found at the command line: outputs over devices and over their own inputs,
// files that are not what they are named as, large files read whole, models that cannot take the
// data, options one command forgot to check, and a failed run that looked finished.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <torch/script.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "lib/core/files.h"
#include "pipelines/study/slurm.h"
#include "tests/support/errors.h"
#include "tests/support/limits.h"
#include "tests/support/process.h"
#include "tests/support/synthetic.h"
#include "tests/support/temp_dir.h"

namespace kd {
namespace {

namespace fs = std::filesystem;
using testing::expect_one_line_error;
using testing::ProcessResult;

// Each command as a user runs it, in a folder of its own with 250 synthetic digits.
class CliRefusal : public ::testing::Test {
 protected:
  void SetUp() override { testing::write_synthetic_mnist(dir_ / "data", 200, 50); }
  static ProcessResult run(const std::string& args) { return testing::run_kdpipe(args); }
  std::string data() const {
    return " --dataset mnist --data-dir " + (dir_ / "data").string() + " --val-size 50 --threads 1";
  }
  std::string teach(const std::string& out, const std::string& extra = "") const {
    return "teach --arch mlp:8 --epochs 1 --mi-examples 5 --out " + out + data() + " " + extra;
  }
  // A node of the kind given (S_IFCHR: the same device as /dev/full), made in this test's folder.
  fs::path full_device() const {
    const fs::path node = dir_ / "full";
    if (::mknod(node.c_str(), S_IFCHR | 0600, ::makedev(1, 7)) != 0) return "";
    return node;
  }
  testing::TempDir dir_;
};

TEST_F(CliRefusal, OutputsOverADeviceOrFifoAreRefusedAndTheNodeStays) {
  ASSERT_EQ(::mkfifo((dir_ / "fifo").c_str(), 0600), 0);
  fs::create_directories(dir_ / "images/train/a");
  fs::create_directories(dir_ / "images/test/a");
  ASSERT_EQ(run(teach((dir_ / "t").string())).status, 0);
  for (const fs::path& node : {dir_ / "fifo", full_device()}) {
    if (node.empty()) continue;  // mknod needs root
    const std::string kind = fs::is_fifo(node) ? "a FIFO" : "a character device";
    expect_one_line_error(run("import " + (dir_ / "images").string() + " --out " + node.string()),
                          node.string() + " exists and is " + kind + ", not a regular file");
    expect_one_line_error(
        run("export " + (dir_ / "t").string() + " --torchscript " + node.string()),
        node.string() + " exists and is " + kind);
    expect_one_line_error(
        run("cache --teacher " + (dir_ / "t").string() + " --out " + node.string() + data()),
        node.string() + " exists and is " + kind);
    EXPECT_FALSE(fs::is_regular_file(node)) << node;
  }
}

TEST_F(CliRefusal, OutputsThatAreTheirOwnInputsAreRefused) {
  fs::create_directories(dir_ / "images/train/a");
  std::ofstream(dir_ / "images/train/a/0.png") << "png";
  const ProcessResult imported = run("import " + (dir_ / "images").string() + " --out " +
                                     (dir_ / "images/train/a/0.png").string());
  EXPECT_EQ(imported.status, 2);
  expect_one_line_error(imported,
                        "is inside " + (dir_ / "images").string() + ", which this command reads");
  EXPECT_EQ(read_text(dir_ / "images/train/a/0.png"), "png");
  ASSERT_EQ(run(teach((dir_ / "t").string())).status, 0);
  const std::string before = read_text(dir_ / "t/model.pt");
  const ProcessResult exported =
      run("export " + (dir_ / "t").string() + " --torchscript " + (dir_ / "t/model.pt").string());
  expect_one_line_error(exported, "--torchscript: " + (dir_ / "t/model.pt").string() + " is " +
                                      (dir_ / "t/model.pt").string() +
                                      ", which this command reads");
  EXPECT_EQ(read_text(dir_ / "t/model.pt"), before);
}

TEST_F(CliRefusal, InspectSaysWhatAFileIsWhenItIsNoRegularFile) {
  ASSERT_EQ(::mkfifo((dir_ / "fifo").c_str(), 0600), 0);
  expect_one_line_error(run("inspect " + dir_.path().string()),
                        dir_.path().string() + ": a directory, not a regular file");
  expect_one_line_error(run("inspect " + (dir_ / "fifo").string()),
                        (dir_ / "fifo").string() + ": a FIFO, not a regular file");
  const fs::path node = full_device();
  if (!node.empty())
    expect_one_line_error(run("inspect " + node.string()), "a character device, not a regular");
  expect_one_line_error(run("inspect " + (dir_ / "none").string()),
                        (dir_ / "none").string() + ": no such file");
}

// 2 GB of zeros, sparse (no disk is used): refused from its last 64 KiB, with kdpipe's whole
// address space capped at 1 GiB (it maps about 0.8 GB at start).
TEST_F(CliRefusal, ALargeFileThatIsNoArchiveIsRefusedInConstantMemory) {
  const fs::path zeros = dir_ / "zeros.pt";
  std::ofstream(zeros).flush();
  fs::resize_file(zeros, std::uintmax_t{2} << 30);
  const std::size_t limit = std::size_t{1} << 30;
  for (const std::string& cmd :
       {"inspect " + zeros.string(),
        "teach --torchscript " + zeros.string() + " --out " + (dir_ / "e").string() + data(),
        "cache --torchscript " + zeros.string() + " --out " + (dir_ / "c.h5").string() + data()}) {
    const ProcessResult r = testing::run_command(testing::limited_kdpipe_command(limit, cmd));
    expect_one_line_error(r, "no ZIP end record");
  }
}

TEST_F(CliRefusal, CacheMergeChecksThreadsAsEveryCommandDoes) {
  expect_one_line_error(run("cache-merge a.h5 --out b.h5 --threads 100000"),
                        "--threads 100000: this process may use");
}

TEST_F(CliRefusal, ImagesOfNoPixelsOrTooFewForTheModelAreNamed) {
  for (const char* c : {"empty-images", "one-pixel"}) {
    const ProcessResult py = testing::run_command(
        "/usr/bin/python3 " + (testing::source_dir() / "tests/storage/write_arrays.py").string() +
        " " + (dir_ / (std::string(c) + ".h5")).string() + " " + c);
    ASSERT_EQ(py.status, 0) << "needs Debian's python3-h5py: " << py.output;
  }
  const fs::path empty = dir_ / "empty-images.h5", one = dir_ / "one-pixel.h5";
  expect_one_line_error(
      run("teach --arch mlp:8 --epochs 1 --val-size 2 --mi-classes 0,1 --mi-examples 2 --dataset " +
          empty.string() + " --out " + (dir_ / "e").string()),
      empty.string() + ": /train/images has shape [12, 0, 0]: images of 0x0 pixels");
  const ProcessResult cnn =
      run("teach --arch cnn:4 --epochs 1 --val-size 2 --mi-classes 0,1 --mi-examples 2 --dataset " +
          one.string() + " --out " + (dir_ / "o").string());
  EXPECT_EQ(cnn.status, 2) << cnn.output;
  expect_one_line_error(cnn, "--arch 'cnn:4': cannot take 1x1x1 images (");
  EXPECT_FALSE(fs::exists(dir_ / "o" / "metrics.json"));
}

TEST_F(CliRefusal, AFailedTeachLeavesNoEarlierResultBehind) {
  const fs::path out = dir_ / "t";
  ASSERT_EQ(run(teach(out.string())).status, 0);
  ASSERT_TRUE(fs::exists(out / "metrics.json"));
  // The same folder, a run that fails after it started (its loss diverges).
  const ProcessResult failed = run(teach(out.string(), "--lr 1e30"));
  EXPECT_NE(failed.status, 0) << failed.output;
  EXPECT_FALSE(fs::exists(out / "metrics.json")) << failed.output;
  EXPECT_FALSE(fs::exists(out / "model.pt"));
  EXPECT_FALSE(fs::exists(out / "predictions.pt"));
  // Its log ends saying why it stopped, as the terminal did.
  const std::string log = read_text(out / "train.log");
  const std::size_t last = log.rfind('\n', log.size() - 2);
  EXPECT_NE(log.substr(last + 1).find(" error: training diverged"), std::string::npos) << log;
  EXPECT_EQ(log.back(), '\n');
}

TEST_F(CliRefusal, ATorchScriptTeacherThatRaisesIsQuoted) {
  torch::jit::Module m("Raising");
  m.register_parameter("w", torch::randn({784, 10}), false);
  m.define(R"(
    def forward(self, x):
        assert x.size(0) == 0, "boom from teacher"
        return torch.matmul(x.flatten(1), self.w)
  )");
  m.save((dir_ / "raising.pt").string());
  for (const std::string& cmd : {"teach --torchscript " + (dir_ / "raising.pt").string() +
                                     " --out " + (dir_ / "e").string() + data(),
                                 "cache --torchscript " + (dir_ / "raising.pt").string() +
                                     " --out " + (dir_ / "c.h5").string() + data()}) {
    expect_one_line_error(run(cmd), "boom from teacher");
  }
  EXPECT_FALSE(fs::exists(dir_ / "c.h5.partial"));
  EXPECT_FALSE(fs::exists(dir_ / "c.h5.lock"));
}

TEST_F(CliRefusal, AnMiProbeOnSmallDataUsesWhatThereIsAndSaysSo) {
  const ProcessResult r = run("teach --arch mlp:8 --epochs 1 --mi-examples 300 --out " +
                              (dir_ / "t").string() + data());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("note: mutual information from "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(" examples per class, not 300: class "), std::string::npos) << r.output;
  const auto m = nlohmann::json::parse(read_text(dir_ / "t/metrics.json"));
  EXPECT_LT(m["mutual_information"]["examples_per_class"].get<int>(), 300);
  EXPECT_EQ(m["mutual_information"]["examples_per_class_asked"], 300);
}

// Every text option: a path with a byte that is not UTF-8 would end in JSON a reader refuses.
TEST_F(CliRefusal, OptionsWithControlCharactersOrBrokenUtf8AreRefused) {
  const ProcessResult r = run(teach(shell_quote((dir_ / "t\xff").string())));
  EXPECT_EQ(r.status, 2);
  expect_one_line_error(r, "--out: '" + (dir_ / "t").string() + "\\xff': byte");
  EXPECT_FALSE(fs::exists(dir_ / "t\xff"));
  expect_one_line_error(run("inspect " + shell_quote("a\nb")),
                        "--file: 'a\\x0ab': byte 2 is a control");
}

// The data-loss cases of a second probe: commands whose output was one of their own inputs.
TEST_F(CliRefusal, NoCommandReplacesOrClearsWhatItReads) {
  const fs::path t = dir_ / "t";
  ASSERT_EQ(run(teach(t.string())).status, 0);
  const std::string model = read_text(t / "model.pt");
  // A TorchScript model evaluated into the folder it lives in: the folder is not cleared of it.
  fs::create_directories(dir_ / "ts");
  ASSERT_EQ(
      run("export " + t.string() + " --torchscript " + (dir_ / "ts/model.pt").string()).status, 0);
  const ProcessResult evaluated = run("teach --torchscript " + (dir_ / "ts/model.pt").string() +
                                      " --mi-examples 5 --out " + (dir_ / "ts").string() + data());
  EXPECT_EQ(evaluated.status, 2) << evaluated.output;
  EXPECT_TRUE(fs::exists(dir_ / "ts/model.pt"));
  // A cache over the teacher's checkpoint or its metrics.
  for (const char* name : {"model.pt", "metrics.json"}) {
    const ProcessResult r =
        run("cache --teacher " + t.string() + " --out " + (t / name).string() + data());
    EXPECT_EQ(r.status, 2) << r.output;
    expect_one_line_error(r, "which this command reads");
  }
  EXPECT_EQ(read_text(t / "model.pt"), model);
  // A merge over one of its shards (refused before a shard is opened).
  std::ofstream(dir_ / "s0.h5") << "shard";
  expect_one_line_error(run("cache-merge " + (dir_ / "s0.h5").string() + " " +
                            (dir_ / "s1.h5").string() + " --out " + (dir_ / "s0.h5").string()),
                        "which this command reads");
  EXPECT_EQ(read_text(dir_ / "s0.h5"), "shard");
  // An export over the folder's record of itself.
  expect_one_line_error(
      run("export " + t.string() + " --torchscript " + (t / "metrics.json").string()),
      "which this command reads");
  EXPECT_NO_THROW(nlohmann::json::parse(read_text(t / "metrics.json")));
}

TEST_F(CliRefusal, AClassNameThatIsNotUtf8IsRefusedBeforeTraining) {
  for (const std::string cls : {"a", "b\xff"}) {
    fs::create_directories(dir_ / "images/train" / cls);
    std::ofstream(dir_ / "images/train" / cls / "0.png") << "not decoded: refused before";
  }
  const ProcessResult r =
      run("import " + (dir_ / "images").string() + " --out " + (dir_ / "images.h5").string());
  EXPECT_EQ(r.status, 1) << r.output;
  expect_one_line_error(r, "class folder 'b\\xff': byte 2 is not UTF-8");
}

// An empty run directory is no run directory (it would be the working directory).
TEST_F(CliRefusal, AnEmptyRunDirectoryIsNoRunDirectory) {
  for (const char* command : {"status", "report"}) {
    const ProcessResult r = run(std::string(command) + " ''");
    EXPECT_EQ(r.status, 2) << command << r.output;
    expect_one_line_error(r, std::string(command) + ": name a run directory");
  }
}

}  // namespace
}  // namespace kd
