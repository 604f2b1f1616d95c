// End-to-end, as a user with their own data: an image folder and an h5py array file through
// teach, cache, distill, import and a study; every family's student exported and loaded by
// Python's torch.jit.load; the export taken back by teach --torchscript.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "lib/core/files.h"
#include "lib/data/augment.h"
#include "lib/data/datasets.h"
#include "lib/models/zoo.h"
#include "storage/array_file.h"
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

class UserData : public ::testing::Test {
 protected:
  void SetUp() override {
    enable_array_files();
    testing::write_image_folder(root_, testing::fashion_mnist_sample(400, 100));
  }
  std::string data() const { return " --dataset " + root_.string() + " --val-size 100 "; }
  // A tiny study of the image folder `dataset` (relative to the study file).
  static void write_study(const fs::path& file, const std::string& dataset) {
    std::ofstream(file) << R"([study]
name = folder
jobs = 2
threads = 1

[data]
dataset = )" << dataset << R"(
val-size = 100

[teacher]
arch = mlp:16
smoothing = 0 0.1
epochs = 1
mi-examples = 5

[cache]
views = 2
temperatures = 2

[student]
arch = mlp:8
temperature = 2
train-subset = 100
epochs = 1

[baseline]
hard = true
smoothing =

[report]
projection-classes = 0 1 2
projection-examples = 5
)";
  }
  static nlohmann::json metrics(const fs::path& dir) {
    return nlohmann::json::parse(read_text(dir / "metrics.json"));
  }
  testing::TempDir dir_;
  fs::path root_ = dir_ / "images";
};

TEST_F(UserData, ImportedFileHoldsTheFoldersImages) {
  const ProcessResult r = run("import " + root_.string() + " --out " + (dir_ / "fm.h5").string() +
                              " --compress 1 --threads 2");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("imported 400 training and 100 test images (1x28x28, 10 classes)"),
            std::string::npos)
      << r.output;
  const Dataset folder = load_dataset(DataOptions(root_.string()).val_size(100));
  const Dataset file = load_dataset(DataOptions((dir_ / "fm.h5").string()).val_size(100));
  EXPECT_EQ(file.train.fingerprint(), folder.train.fingerprint());
  EXPECT_EQ(file.test.fingerprint(), folder.test.fingerprint());
  EXPECT_EQ(file.info.class_names, folder.info.class_names);
  EXPECT_EQ(file.info.mean, folder.info.mean);
}

TEST_F(UserData, H5pyArrayFileRunsTeachCacheDistill) {
  const fs::path file = dir_ / "arrays.h5";
  const ProcessResult py = testing::run_command(
      "/usr/bin/python3 " + (testing::source_dir() / "tests/storage/write_arrays.py").string() +
      " " + file.string() + " good");
  ASSERT_EQ(py.status, 0) << "needs Debian's python3-h5py: " << py.output;
  const std::string d = " --dataset " + file.string() + " --val-size 3 --threads 1 ";
  ProcessResult r = run("teach" + d + "--arch mlp:8 --epochs 1 --mi-classes 0,1 --mi-examples 2 " +
                        "--out " + (dir_ / "t").string());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(metrics(dir_ / "t")["dataset"]["class_names"], nlohmann::json({"cat", "dog", "eel"}));
  r = run("cache --teacher " + (dir_ / "t").string() + d + "--out " + (dir_ / "c.h5").string());
  ASSERT_EQ(r.status, 0) << r.output;
  r = run("inspect " + (dir_ / "c.h5").string());
  EXPECT_NE(r.output.find("classes      cat, dog, eel"), std::string::npos) << r.output;
  r = run("distill --cache " + (dir_ / "c.h5").string() + d + "--arch mlp:4 --epochs 1 --out " +
          (dir_ / "s").string());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(metrics(dir_ / "s")["kind"], "student");
  // Every teacher and student stage leaves its per-example test predictions for Python.
  for (const char* stage : {"t", "s"}) {
    const ProcessResult p = testing::run_command(
        "/usr/bin/python3 -c \"import torch; p = torch.load('" + (dir_ / stage).string() +
        "/predictions.pt'); print((p['predicted'] == p['labels']).double().mean().item(), "
        "p['logits'].shape[0], p['format'])\"");
    ASSERT_EQ(p.status, 0) << p.output;
    std::istringstream in(p.output);
    double accuracy = 0;
    int64_t n = 0;
    std::string format;
    in >> accuracy >> n >> format;
    EXPECT_NEAR(accuracy, metrics(dir_ / stage)["test"]["accuracy"].get<double>(), 1e-9) << stage;
    EXPECT_EQ(n, 4);
    EXPECT_EQ(format, "kdpipe-predictions");
  }
}

TEST_F(UserData, StudentsOfEveryFamilyLoadInPythonAndComeBackAsTeachers) {
  ASSERT_EQ(run("teach" + data() + "--arch mlp:16 --epochs 1 --mi-examples 5 --threads 2 --out " +
                (dir_ / "teacher").string())
                .status,
            0);
  ASSERT_EQ(run("cache --teacher " + (dir_ / "teacher").string() + data() + "--temperatures 2 " +
                "--out " + (dir_ / "train.h5").string())
                .status,
            0);
  const Dataset dataset = load_dataset(DataOptions(root_.string()).val_size(100));
  const ImageSet& test = dataset.test;
  // And a student of the user's own architecture, written in Python (a CNN with BatchNorm, a
  // residual block and dropout): its export is its own module with export's additions.
  fs::create_directories(dir_ / "models");
  const ProcessResult saved = testing::run_command(
      "/usr/bin/python3 " + (testing::source_dir() / "tests/lib/scripted_models.py").string() +
      " save " + (dir_ / "models").string());
  ASSERT_EQ(saved.status, 0) << "needs Debian's python3-torch: " << saved.output;
  const std::string own = "torchscript:" + (dir_ / "models/cnn.pt").string();
  for (const std::string& arch : {std::string("mlp:16"), std::string("cnn:4"),
                                  std::string("resnet:8"), std::string("alexnet"), own}) {
    const fs::path student = dir_ / ("student-" + arch.substr(0, 3));
    ProcessResult r = run("distill --cache " + (dir_ / "train.h5").string() + data() + "--arch " +
                          arch + " --temperature 2 --epochs 1 --train-subset 100 --threads 2 " +
                          "--out " + student.string());
    ASSERT_EQ(r.status, 0) << arch << r.output;
    const fs::path exported = student / "exported.pt";
    r = run("export " + student.string() + " --torchscript " + exported.string());
    ASSERT_EQ(r.status, 0) << arch << r.output;
    r = run("inspect " + exported.string());
    EXPECT_NE(r.output.find("TorchScript export of a kdpipe model"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("arch         " + arch), std::string::npos) << r.output;

    // kdpipe's logits for the test images, next to the raw pixels, for Python to compare.
    const LoadedModel m = load_model(student / "model.pt");
    m.model->eval();
    torch::NoGradGuard no_grad;
    const torch::Tensor logits = m.model->forward(
        make_batch(test, dataset.info, torch::arange(test.size()), Augment::none, 0, 0));
    const torch::Tensor pixels = test.images.contiguous();
    std::ofstream(dir_ / "pixels.bin", std::ios::binary)
        .write(static_cast<const char*>(pixels.data_ptr()), pixels.numel());
    std::ofstream(dir_ / "logits.bin", std::ios::binary)
        .write(static_cast<const char*>(logits.data_ptr()), logits.numel() * 4);
    const ProcessResult py = testing::run_command(
        "/usr/bin/python3 " + (testing::source_dir() / "tests/pipelines/check_export.py").string() +
        " " + exported.string() + " " + (dir_ / "pixels.bin").string() + " " +
        (dir_ / "logits.bin").string() + " 1 28 28 10");
    ASSERT_EQ(py.status, 0) << "needs Debian's python3-torch: " << py.output;
    const auto got = nlohmann::json::parse(py.output);
    EXPECT_LE(got["classify_max_diff"].get<double>(), 1e-5) << arch;
    EXPECT_LE(got["forward_max_diff"].get<double>(), 1e-5) << arch;
    EXPECT_EQ(got["class_names"], nlohmann::json(dataset.info.class_names));
    EXPECT_EQ(got["described_arch"], arch);

    // Round trip: the exported file is a teacher kdpipe evaluates like any TorchScript model.
    r = run("teach --torchscript " + exported.string() + data() + "--mi-examples 5 --out " +
            (student / "as-teacher").string());
    ASSERT_EQ(r.status, 0) << arch << r.output;
    EXPECT_NEAR(metrics(student / "as-teacher")["test"]["accuracy"].get<double>(),
                metrics(student)["test"]["accuracy"].get<double>(), 1e-9)
        << arch;
  }
}

TEST_F(UserData, StudyRunsOnAnImageFolder) {
  KD_SKIP_WITHOUT_GNUPLOT();
  write_study(dir_ / "study.ini", "images");
  const ProcessResult r =
      run("run " + (dir_ / "study.ini").string() + " --out " + (dir_ / "run").string());
  ASSERT_EQ(r.status, 0) << r.output;
  const auto report = nlohmann::json::parse(read_text(dir_ / "run" / "report" / "report.json"));
  EXPECT_NE(report.dump().find("2-pullover"), std::string::npos);  // classes named by folder
  // Unchanged images: nothing reruns. A touched image: the teachers (and all after) rerun.
  const std::string dry_run =
      "run " + (dir_ / "study.ini").string() + " --out " + (dir_ / "run").string() + " --dry-run";
  EXPECT_NE(run(dry_run).output.find("0 would run"), std::string::npos);
  const fs::path image = root_ / "train" / "0-tshirt" / "00001.png";
  fs::last_write_time(image, fs::last_write_time(image) + std::chrono::hours(1));
  const ProcessResult again = run(dry_run);
  EXPECT_EQ(again.output.find("0 would run"), std::string::npos) << again.output;
}

// Class names come from the user's folders and the run directory from the user's command line:
// quotes, a command substitution and markup must reach the report as text and run nothing.
TEST_F(UserData, HostileNamesReachTheReportAsText) {
  KD_SKIP_WITHOUT_GNUPLOT();
  DatasetFiles files = testing::fashion_mnist_sample(400, 100);
  const std::vector<std::string> hostile = {"0 \"q\" $(touch PWNED)", "1 it's `touch PWNED`",
                                            "2 <script>alert(1)<", "3 \\n; system('touch PWNED')"};
  for (std::size_t c = 0; c < hostile.size(); ++c) files.class_names[c] = hostile[c];
  const fs::path base = dir_ / "quote\" ' $(touch PWNED) <b>";
  testing::write_image_folder(base / "data", files);
  write_study(base / "study.ini", "data");
  const fs::path run_dir = base / "run \"$(touch PWNED)\" '<i>'";
  auto quoted = [](const std::string& text) {  // for the test's own shell command line
    std::string out = "'";
    for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
  };
  const ProcessResult r = testing::run_command(
      "cd " + quoted(dir_.path().string()) + " && " + testing::kdpipe_binary().string() + " run " +
      quoted((base / "study.ini").string()) + " --out " + quoted(run_dir.string()));
  ASSERT_EQ(r.status, 0) << r.output;
  for (const auto& entry : fs::recursive_directory_iterator(dir_.path())) {
    EXPECT_NE(entry.path().filename(), "PWNED") << entry.path();  // what the names would create
  }
  EXPECT_FALSE(fs::exists("PWNED"));
  const auto report = nlohmann::json::parse(read_text(run_dir / "report" / "report.json"));
  EXPECT_NE(report.dump().find(nlohmann::json(hostile[0]).dump()), std::string::npos);
  const std::string html = read_text(run_dir / "report" / "report.html");
  EXPECT_EQ(html.find("<b>"), std::string::npos);
  EXPECT_NE(html.find("&lt;b&gt;"), std::string::npos);
  EXPECT_NE(html.find("&quot;"), std::string::npos);
  for (const auto& entry : fs::directory_iterator(run_dir / "report" / "figures")) {
    if (entry.path().extension() != ".svg") continue;
    EXPECT_EQ(read_text(entry.path()).find("<script>"), std::string::npos) << entry.path();
  }
}

TEST_F(UserData, BadInputEndsWithOneLineNamingIt) {
  expect_one_line_error(run("teach --dataset " + (dir_ / "absent").string() + " --out x"),
                        "no such image folder or h5 file");
  fs::create_directories(dir_ / "empty-dir");
  expect_one_line_error(run("export " + (dir_ / "empty-dir").string() + " --torchscript x.pt"),
                        (dir_ / "empty-dir").string() + ": holds no model.pt");
  const fs::path bad = root_ / "test" / "4-coat" / "zz-broken.png";
  { std::ofstream(bad) << "broken"; }
  expect_one_line_error(run("teach" + data() + "--epochs 1 --out " + (dir_ / "t").string()),
                        bad.string() + ": not a PNG or JPEG file");
  expect_one_line_error(run("import " + root_.string() + " --out " + (dir_ / "x.h5").string()),
                        bad.string());
  EXPECT_FALSE(fs::exists(dir_ / "x.h5"));
  expect_one_line_error(run("teach" + data() + "--image-size 12y3 --out x"), "--image-size");
}

}  // namespace
}  // namespace kd
