#include <gtest/gtest.h>
#include <sys/wait.h>
#include <torch/script.h>

#include <cstdio>
#include <fstream>

#include "lib/core/error.h"
#include "lib/core/files.h"
#include "lib/core/hash.h"
#include "lib/models/zoo.h"
#include "storage/cache_stage.h"
#include "storage/logit_cache.h"
#include "tests/storage/cache_fixture.h"
#include "tests/storage/h5_edit.h"
#include "tests/support/process.h"
#include "tests/support/synthetic.h"
#include "tests/support/temp_dir.h"

namespace kd {
namespace {

namespace fs = std::filesystem;

using testing::CacheTest;

TEST_F(CacheTest, LogitsMatchTheModelOneExampleAtATimeForEveryView) {
  for (const std::string teacher : {"mlp", "cnn"}) {
    const CacheOptions o = options(teacher);
    build_cache(o, quiet);
    const LogitCache cache(o.out());
    const Classifier model = load_model(dir_ / teacher / "model.pt").model;
    const torch::Tensor z = cache.logits();
    ASSERT_EQ(z.sizes(), (std::vector<int64_t>{3, 250, 10}));
    for (int64_t v = 0; v < 3; ++v) {
      EXPECT_LE((z[v] - one_at_a_time(model, v, o)).abs().max().item<double>(), 1e-5)
          << teacher << " view " << v;
    }
    EXPECT_FALSE(z[1].equal(z[0]));  // augmented views differ from the plain one
    for (double t : o.temperatures()) {
      EXPECT_LE((cache.probs(t) - torch::softmax(z / t, 2)).abs().max().item<double>(), 1e-6) << t;
    }
    EXPECT_TRUE(cache.labels().equal(data_.train.labels));
    EXPECT_TRUE(cache.verify().empty());
    fs::remove(o.out());
  }
}

TEST_F(CacheTest, HeaderRecordsTeacherDataAndRecipe) {
  const CacheOptions o = options().seed(7).augment(Augment::shift);
  build_cache(o, quiet);
  const LogitCache cache(o.out());
  const CacheHeader& h = cache.header();
  EXPECT_EQ(h.format, "kdpipe-logits");
  EXPECT_EQ(h.format_version, kCacheFormatVersion);
  EXPECT_EQ(h.teacher_arch, "mlp:24");
  EXPECT_EQ(h.teacher_source, "kdpipe");
  EXPECT_EQ(h.teacher_checkpoint_hash, hash_file(dir_ / "mlp" / "model.pt"));
  EXPECT_EQ(h.dataset, "mnist");
  EXPECT_EQ(h.split, "train");
  EXPECT_EQ(h.dataset_fingerprint, data_.train.fingerprint());
  EXPECT_EQ(h.n, 250);
  EXPECT_EQ(h.c, 10);
  EXPECT_EQ(h.v, 3);
  EXPECT_EQ(h.temperatures, (std::vector<double>{1, 2.5, 4}));
  EXPECT_EQ(h.augment, "shift");
  EXPECT_EQ(h.augment_seed, 7);
  EXPECT_EQ(h.dtype, "float32");
  EXPECT_FALSE(h.kdpipe_version.empty());
}

TEST_F(CacheTest, WorkerCountDoesNotChangeTheResult) {
  build_cache(options().workers(1), quiet);
  const torch::Tensor one = LogitCache(dir_ / "cache.h5").logits();
  fs::remove(dir_ / "cache.h5");
  build_cache(options().workers(2), quiet);
  EXPECT_TRUE(LogitCache(dir_ / "cache.h5").logits().equal(one));
}

TEST_F(CacheTest, HalfPrecisionAndCompressionStayCloseAndReadable) {
  build_cache(options(), quiet);
  const torch::Tensor full = LogitCache(dir_ / "cache.h5").logits();
  build_cache(options().half(true).compress(4).out(dir_ / "half.h5"), quiet);
  const LogitCache half(dir_ / "half.h5");
  EXPECT_EQ(half.header().dtype, "float16");
  EXPECT_LE((half.logits() - full).abs().max().item<double>(),
            2e-3 * full.abs().max().item<double>());
  EXPECT_TRUE(half.verify().empty());
}

TEST_F(CacheTest, TorchScriptTeacherIsCachedAndItsInputShapeCheckedFirst) {
  // A TorchScript classifier as it might arrive from Python: a linear map on flattened pixels.
  torch::jit::Module m("Linear");
  torch::manual_seed(2);
  m.register_parameter("w", torch::randn({784, 10}) * 0.05, false);
  m.register_parameter("b", torch::randn({10}), false);
  m.define(R"(
    def forward(self, x):
        return torch.matmul(x.flatten(1), self.w) + self.b
  )");
  m.save((dir_ / "linear.pt").string());
  const CacheOptions o = options().teacher("").torchscript(dir_ / "linear.pt").input("unit");
  build_cache(o, quiet);
  const LogitCache cache(o.out());
  EXPECT_EQ(cache.header().teacher_source, "torchscript");
  EXPECT_EQ(cache.header().input, "unit");
  const torch::Tensor x = data_.train.images.to(torch::kFloat32).div(255).flatten(1);
  const torch::Tensor want = torch::matmul(x, m.attr("w").toTensor()) + m.attr("b").toTensor();
  EXPECT_LE((cache.logits(0) - want).abs().max().item<double>(), 1e-5);

  // A module built for 3x32x32 images is refused, naming the file and the shapes.
  torch::jit::Module wide("Wide");
  wide.register_parameter("w", torch::randn({3072, 10}), false);
  wide.define(R"(
    def forward(self, x):
        return torch.matmul(x.flatten(1), self.w)
  )");
  wide.save((dir_ / "wide.pt").string());
  try {
    build_cache(options().teacher("").torchscript(dir_ / "wide.pt").out(dir_ / "w.h5"), quiet);
    ADD_FAILURE() << "accepted a module of the wrong input shape";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("wide.pt"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(
                  "forward failed on a batch of 2 mnist images of shape [2, 1, 28, 28]"),
              std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(fs::exists(dir_ / "w.h5"));
  EXPECT_FALSE(fs::exists(LogitCacheWriter::partial_path(dir_ / "w.h5")));
}

TEST_F(CacheTest, RefusesCachesThatDoNotMatchTheData) {
  build_cache(options(), quiet);
  const LogitCache cache(dir_ / "cache.h5");
  EXPECT_NO_THROW(cache.expect_data("mnist", "train", data_.train.fingerprint(), 250));
  auto refused = [&](auto&& f, const std::string& field, const std::string& a,
                     const std::string& b) {
    try {
      f();
      ADD_FAILURE() << "accepted a mismatch of " << field;
    } catch (const StorageError& e) {
      const std::string msg = e.what();
      for (const std::string& part : {std::string("cache.h5"), field, a, b}) {
        EXPECT_NE(msg.find(part), std::string::npos) << part << " not in: " << msg;
      }
    }
  };
  refused([&] { cache.expect_data("fashion-mnist", "train", data_.train.fingerprint(), 250); },
          "dataset", "mnist", "fashion-mnist");
  refused([&] { cache.expect_data("mnist", "test", data_.train.fingerprint(), 250); }, "split",
          "train", "test");
  refused([&] { cache.expect_data("mnist", "train", data_.train.fingerprint(), 251); }, "N", "250",
          "251");
  // Written with --val-size 10 from a file of 260, read holding out 20: the message says so.
  refused([&] { cache.expect_data("mnist", "train", data_.train.fingerprint(), 240, 20); }, "N",
          "250", "was the cache written with --val-size 10? this run holds out 20");
  refused([&] { cache.expect_data("mnist", "train", "0123456789abcdef", 250); },
          "dataset_fingerprint", data_.train.fingerprint(), "0123456789abcdef");
}

TEST_F(CacheTest, RefusesOtherFormatsVersionsAndDamagedFiles) {
  build_cache(options(), quiet);
  const std::string bytes = read_text(dir_ / "cache.h5");
  std::ofstream(dir_ / "cut.h5", std::ios::binary) << bytes.substr(0, bytes.size() / 3);
  EXPECT_THROW(LogitCache(dir_ / "cut.h5"), StorageError);
  std::ofstream(dir_ / "text.h5") << "not hdf5";
  EXPECT_THROW(LogitCache(dir_ / "text.h5"), StorageError);
  EXPECT_THROW(LogitCache(dir_ / "absent.h5"), StorageError);
  // Same file, other format name or version: written by a test-only writer of the header.
  for (const auto& [field, value] : std::vector<std::pair<std::string, std::string>>{
           {"format", "other-logits"}, {"format_version", "99"}}) {
    fs::copy_file(dir_ / "cache.h5", dir_ / "edited.h5", fs::copy_options::overwrite_existing);
    testing::set_h5_attribute(dir_ / "edited.h5", field, value);
    try {
      LogitCache edited(dir_ / "edited.h5");
      ADD_FAILURE() << "accepted " << field << " = " << value;
    } catch (const StorageError& e) {
      EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(value), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("edited.h5"), std::string::npos) << e.what();
    }
  }
}

TEST_F(CacheTest, VerifyFindsNonFiniteLogitsAndProbabilitiesThatDisagree) {
  build_cache(options(), quiet);
  fs::copy_file(dir_ / "cache.h5", dir_ / "nan.h5");
  testing::set_first_value(dir_ / "nan.h5", "/logits", std::nanf(""));
  const std::vector<std::string> nan_problems = LogitCache(dir_ / "nan.h5").verify();
  ASSERT_FALSE(nan_problems.empty());
  EXPECT_NE(nan_problems[0].find("NaN or Inf"), std::string::npos) << nan_problems[0];
  testing::set_first_value(dir_ / "cache.h5", "/probs/T=2.5", 0.99f);
  const std::vector<std::string> problems = LogitCache(dir_ / "cache.h5").verify();
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("/probs/T=2.5"), std::string::npos) << problems[0];
  // inspect reports it and exits non-zero; an intact cache passes.
  const testing::ProcessResult bad = testing::run_kdpipe("inspect " + (dir_ / "cache.h5").string());
  EXPECT_EQ(bad.status, 1) << bad.output;
  EXPECT_NE(bad.output.find("PROBLEM: /probs/T=2.5"), std::string::npos) << bad.output;
  build_cache(options().out(dir_ / "good.h5"), quiet);
  const testing::ProcessResult good = testing::run_kdpipe("inspect " + (dir_ / "good.h5").string());
  EXPECT_EQ(good.status, 0) << good.output;
  EXPECT_NE(good.output.find("intact"), std::string::npos) << good.output;
  EXPECT_NE(good.output.find("[3, 250, 10]"), std::string::npos) << good.output;
}

TEST_F(CacheTest, CliRefusesBadCacheRequestsWithOneLine) {
  const std::string data =
      "--dataset mnist --data-dir " + (dir_ / "data").string() + " --val-size 50 ";
  const std::string out = " --out " + (dir_ / "x.h5").string();
  struct Case {
    std::string args, needle;
  };
  for (const Case& c : std::vector<Case>{
           {"cache " + data + out, "--teacher"},
           {"cache " + data + "--teacher " + (dir_ / "nobody").string() + out, "nobody"},
           {"cache " + data + "--teacher " + (dir_ / "mlp").string() + " --views 0" + out,
            "--views"},
           {"cache " + data + "--teacher " + (dir_ / "mlp").string() + " --temperatures 0" + out,
            "--temperatures"},
           {"cache " + data + "--teacher " + (dir_ / "mlp").string() + " --split dev" + out,
            "--split"},
           {"cache --dataset fashion-mnist --teacher " + (dir_ / "mlp").string() + out,
            "trained on mnist"},
           {"inspect " + (dir_ / "data" / "train-labels-idx1-ubyte.gz").string(),
            "train-labels-idx1-ubyte.gz"},
       }) {
    const testing::ProcessResult r = testing::run_kdpipe(c.args);
    EXPECT_NE(r.status, 0) << c.args << "\n" << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
    EXPECT_NE(r.output.find(c.needle), std::string::npos) << r.output;
  }
  EXPECT_FALSE(fs::exists(dir_ / "x.h5"));
}

TEST_F(CacheTest, CudaCacheMatchesTheCpuCache) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA LibTorch or no GPU here";
  for (const std::string teacher : {"mlp", "cnn"}) {
    build_cache(options(teacher).out(dir_ / "cpu.h5"), quiet);
    build_cache(options(teacher).device(torch::kCUDA).out(dir_ / "gpu.h5"), quiet);
    const torch::Tensor cpu = LogitCache(dir_ / "cpu.h5").logits();
    const torch::Tensor gpu = LogitCache(dir_ / "gpu.h5").logits();
    EXPECT_LE((cpu - gpu).abs().max().item<double>(), 1e-4) << teacher;
    EXPECT_TRUE(LogitCache(dir_ / "gpu.h5").verify().empty());
    fs::remove(dir_ / "cpu.h5");
    fs::remove(dir_ / "gpu.h5");
  }
}

TEST_F(CacheTest, PythonReadsTheCacheWithH5py) {
  if (std::system("/usr/bin/python3 -c 'import h5py' 2>/dev/null") != 0) {
    GTEST_SKIP() << "Debian's python3-h5py is not installed (.ci/setup installs it)";
  }
  build_cache(options().half(true), quiet);
  const LogitCache cache(dir_ / "cache.h5");
  const testing::ProcessResult py = testing::run_command(
      "/usr/bin/python3 " + (testing::source_dir() / "tests/storage/read_cache.py").string() + " " +
      (dir_ / "cache.h5").string());
  ASSERT_EQ(py.status, 0) << py.output;
  const auto got = nlohmann::json::parse(py.output);
  EXPECT_EQ(got["logits_shape"], (std::vector<int64_t>{3, 250, 10}));
  EXPECT_EQ(got["logits_dtype"], "float16");
  EXPECT_EQ(got["labels_dtype"], "int64");
  EXPECT_EQ(got["labels"].get<std::vector<int64_t>>(),
            std::vector<int64_t>(data_.train.labels.data_ptr<int64_t>(),
                                 data_.train.labels.data_ptr<int64_t>() + 250));
  EXPECT_NEAR(got["logits_sum"].get<double>(),
              cache.logits().to(torch::kFloat64).sum().item<double>(), 1e-3);
  EXPECT_EQ(got["attrs"]["format"], "kdpipe-logits");
  EXPECT_EQ(got["attrs"]["dataset"], "mnist");
  EXPECT_EQ(got["attrs"]["V"], 3);
  EXPECT_EQ(got["attrs"]["temperatures"], (std::vector<double>{1, 2.5, 4}));
  EXPECT_EQ(got["attrs"]["dataset_fingerprint"], data_.train.fingerprint());
  EXPECT_EQ(got["probs"], (std::vector<std::string>{"T=1", "T=2.5", "T=4"}));
  EXPECT_LT(got["probs_last_error"].get<double>(), 2e-3);
}

}  // namespace
}  // namespace kd
