// Caches whose numbers cannot be trusted are refused when read, naming the file and the dataset;
// teachers whose logits are not finite are refused before anything is cached.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <torch/script.h>

#include "lib/core/error.h"
#include "storage/logit_cache.h"
#include "tests/storage/cache_fixture.h"
#include "tests/storage/h5_edit.h"
#include "tests/support/errors.h"
#include "tests/support/process.h"

namespace kd {
namespace {

namespace fs = std::filesystem;
using testing::CacheTest;
using testing::error_of;

TEST_F(CacheTest, ReadingRefusesNonFiniteLogitsAndTypesTheHeaderDoesNotSay) {
  build_cache(options(), quiet);
  const fs::path file = dir_ / "cache.h5";
  testing::set_first_value(file, "/logits", std::nanf(""));
  std::string msg = error_of([&] { LogitCache(file).logits(); });
  EXPECT_NE(msg.find(file.string() + ": /logits holds 1 non-finite values"), std::string::npos)
      << msg;
  EXPECT_FALSE(LogitCache(file).verify().empty());  // inspect lists it rather than stopping

  build_cache(options().out(dir_ / "typed.h5"), quiet);
  testing::store_as_int32(dir_ / "typed.h5", "/logits");
  msg = error_of([&] { LogitCache(dir_ / "typed.h5").logits(); });
  EXPECT_NE(msg.find("/logits is stored as integers of 4 bytes, but the dtype attribute says "
                     "float32"),
            std::string::npos)
      << msg;

  build_cache(options().out(dir_ / "half.h5"), quiet);
  testing::set_h5_attribute(dir_ / "half.h5", "dtype", "float16");  // the data is float32
  msg = error_of([&] { LogitCache(dir_ / "half.h5").logits(); });
  EXPECT_NE(msg.find("floating point of 4 bytes, but the dtype attribute says float16"),
            std::string::npos)
      << msg;
}

TEST_F(CacheTest, AFlippedBitInTheDataIsCaughtByItsChunkChecksum) {
  const fs::path file = dir_ / "cache.h5";
  for (const std::string dataset : {"/logits", "/labels"}) {
    build_cache(options(), quiet);
    testing::flip_stored_bit(file, dataset, 5);
    const std::string msg = error_of([&] {
      const LogitCache cache(file);
      cache.logits();
      cache.labels();
    });
    EXPECT_NE(msg.find(file.string() + ": reading " + dataset), std::string::npos) << msg;
    EXPECT_NE(msg.find("checksum"), std::string::npos) << msg;
    fs::remove(file);
  }
}

// An attribute read into one variable must hold one value: HDF5 would write all of them.
TEST_F(CacheTest, AnAttributeOfManyValuesWhereOneBelongsIsRefused) {
  const fs::path file = dir_ / "cache.h5";
  for (const auto& [name, values] : {std::pair<std::string, std::string>{"format", "['a', 'b']"},
                                     {"format_version", "list(range(100))"}}) {
    build_cache(options(), quiet);
    const testing::ProcessResult py =
        testing::run_command("/usr/bin/python3 -c \"import h5py; f = h5py.File('" + file.string() +
                             "', 'a'); "
                             "f.attrs['" +
                             name + "'] = " + values + "\"");
    ASSERT_EQ(py.status, 0) << py.output;
    const std::string msg = error_of([&] { LogitCache cache(file); });
    EXPECT_NE(msg.find(file.string() + ": attribute '" + name + "' should hold one value, holds "),
              std::string::npos)
        << msg;
    fs::remove(file);
  }
}

// Found by fuzzing: a 22 KB file whose global heap declares a 2 GB string for the attribute
// 'dataset'. libhdf5 allocates what it declares (4 GB resident); the structure is read first in a
// child whose address space may grow 1 GiB at most, so the allocation fails there and the file is
// refused by the child's error, never read here.
TEST_F(CacheTest, AStringOfAFalseSizeIsRefusedWithoutTakingTheMemory) {
  const fs::path file =
      testing::source_dir() / "tests/fuzz/corpus/cache_fuzz/crash-vlen-string-of-2gb";
  const std::string msg = error_of([&] { LogitCache cache(file); });
  EXPECT_NE(msg.find(file.string() + ": reading attribute dataset (memory allocation failed"),
            std::string::npos)
      << msg;
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  EXPECT_LT(usage.ru_maxrss, 2'000'000) << "kB at the peak: the declared size was allocated here";
}

TEST_F(CacheTest, ATeacherWithNonFiniteLogitsIsNotCached) {
  testing::save_nan_teacher(dir_ / "nan.pt");
  const std::string msg =
      error_of([&] { build_cache(options().teacher("").torchscript(dir_ / "nan.pt"), quiet); });
  EXPECT_NE(msg.find("nan.pt: "), std::string::npos) << msg;
  EXPECT_NE(msg.find("non-finite logits (NaN or infinity) for examples [0, 64)"), std::string::npos)
      << msg;
  EXPECT_FALSE(fs::exists(dir_ / "cache.h5"));
}

// A module that works on a small probe but fails on a real batch is named, with its reason.
TEST_F(CacheTest, ATeacherFailingOnLargerBatchesIsNamed) {
  torch::jit::Module m("Fixed");
  m.register_parameter("w", torch::randn({784, 10}), false);
  m.define(R"(
    def forward(self, x):
        assert x.size(0) <= 8, "built for batches of at most 8"
        return torch.matmul(x.flatten(1), self.w)
  )");
  m.save((dir_ / "fixed.pt").string());
  const std::string msg =
      error_of([&] { build_cache(options().teacher("").torchscript(dir_ / "fixed.pt"), quiet); });
  EXPECT_NE(msg.find("fixed.pt: the TorchScript teacher failed on a batch of 64 images"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("built for batches of at most 8"), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
}

}  // namespace
}  // namespace kd
