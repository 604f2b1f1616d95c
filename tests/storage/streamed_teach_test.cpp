// `kdpipe teach` on an array file larger than --memory: its training split is read as it trains.
// The process's peak RSS stays within the floor (a stage on a 10 MB file) plus --memory plus 10%;
// the same seed gives the same weights, streamed or held; the fingerprint and the normalisation
// are those of the file held in memory; `kdpipe cache` and `kdpipe distill` stream it within the
// same bound, to the same logits and the same student; a --memory too small for two windows is
// refused in one line.
#include <gtest/gtest.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "lib/core/files.h"
#include "lib/data/datasets.h"
#include "storage/array_file.h"
#include "storage/logit_cache.h"
#include "tests/support/process.h"
#include "tests/support/synthetic.h"
#include "tests/support/temp_dir.h"
#include "tests/support/weights.h"

namespace kd {
namespace {

namespace fs = std::filesystem;

void write_dataset(const fs::path& path, int64_t train, uint64_t seed) {
  DatasetFiles files;
  files.train = testing::make_synthetic(train, 10, 3, 32, seed);
  files.test = testing::make_synthetic(1000, 10, 3, 32, seed + 1);
  for (int c = 0; c < 10; ++c) files.class_names.push_back("c" + std::to_string(c));
  write_array_file(path, files, "test", 0);
}

class StreamedTeach : public ::testing::Test {
 protected:
  // Runs a kdpipe command into `out`; its peak RSS in MB (work.json).
  double stage(const std::string& command, const std::string& out) {
    const testing::ProcessResult r =
        testing::run_kdpipe(command + " --out " + (dir_ / out).string(),
                            "KDPIPE_WORK_FILE=" + (dir_ / (out + "-work.json")).string());
    EXPECT_EQ(r.status, 0) << r.output;
    return nlohmann::json::parse(read_text(dir_ / (out + "-work.json")))["peak_rss_mb"];
  }
  double teach(const fs::path& data, const std::string& out, const std::string& more) {
    return stage("teach --dataset " + data.string() +
                     " --arch mlp:16 --epochs 2 --mi-examples 20 --threads 2 --seed 3 " + more,
                 out);
  }
  nlohmann::json metrics(const std::string& out) const {
    return nlohmann::json::parse(read_text(dir_ / out / "metrics.json"));
  }
  testing::TempDir dir_;
};

TEST_F(StreamedTeach, PeakMemoryStaysWithinTheFloorAndMemoryAndTheWeightsRepeat) {
  enable_array_files();
  write_dataset(dir_ / "small.h5", 3000, 1);  // 9.2 MB of training pixels
  const double floor = teach(dir_ / "small.h5", "small", "--val-size 500");
  EXPECT_FALSE(metrics("small")["dataset"]["streamed"].get<bool>());
  EXPECT_EQ(metrics("small")["dataset"]["order"], "whole");

  const fs::path big = dir_ / "big.h5";
  write_dataset(big, 100000, 2);  // 307 MB: more than 3x --memory 96
  ASSERT_GT(fs::file_size(big), 3 * (96U << 20));
  const double a = teach(big, "a", "--memory 96");
  const double bound = 1.1 * (floor + 96);
  EXPECT_LE(a, bound) << "floor " << floor << " MB";
  std::cout << "peak RSS: floor " << floor << " MB, streamed " << a << " MB, bound " << bound
            << " MB\n";
  const nlohmann::json m = metrics("a");
  EXPECT_TRUE(m["dataset"]["streamed"].get<bool>());
  EXPECT_EQ(m["dataset"]["order"], "chunked (256 examples a chunk, 16 chunks a window)");
  EXPECT_EQ(m["dataset"]["train_size"], 95000);
  EXPECT_GT(m["test"]["accuracy"].get<double>(), 0.5);  // it learned from what it streamed

  // Same seed, same order: the same weights, byte for byte, streamed again or held (--memory
  // large enough to hold the file changes where the pixels are, not the order).
  EXPECT_LE(teach(big, "b", "--memory 96"), bound);
  EXPECT_TRUE(read_text(dir_ / "a" / "model.pt") == read_text(dir_ / "b" / "model.pt"));
  teach(big, "held", "--memory 2000");
  EXPECT_FALSE(metrics("held")["dataset"]["streamed"].get<bool>());
  EXPECT_EQ(metrics("held")["dataset"]["order"], m["dataset"]["order"]);
  EXPECT_TRUE(read_text(dir_ / "a" / "model.pt") == read_text(dir_ / "held" / "model.pt"));
  EXPECT_EQ(metrics("held")["test"], m["test"]);

  // At the least --memory it takes (the message below): within the bound too, the reading's
  // buffers counted in it.
  const double least = teach(big, "least", "--memory 58");
  EXPECT_LE(least, 1.1 * (floor + 58));
  std::cout << "peak RSS at --memory 58: " << least << " MB\n";
  EXPECT_TRUE(read_text(dir_ / "least" / "model.pt") == read_text(dir_ / "a" / "model.pt"));

  // Two ranks, each reading only its own share of every batch (ArrayStreamTest.EachRank…): the
  // weights of one process up to rounding, rank 0 within the same bound.
  EXPECT_LE(teach(big, "ranks", "--memory 96 --ranks 2"), bound);
  EXPECT_TRUE(metrics("ranks")["dataset"]["streamed"].get<bool>());
  const double apart =
      testing::relative_difference(dir_ / "ranks" / "model.pt", dir_ / "a" / "model.pt");
  EXPECT_LT(apart, 1e-3);
  std::cout << "two ranks' weights differ from one process's by " << apart << " (relative)\n";
  EXPECT_NE(read_text(dir_ / "ranks" / "rank-1.log").find("read from the file as it runs"),
            std::string::npos);

  // The data as a stage holding it in memory sees it: same fingerprint, same normalisation, and
  // the same chunked order.
  const Dataset held = load_dataset(DataOptions(big.string()));
  EXPECT_EQ(m["dataset"]["train_fingerprint"], held.train.fingerprint());
  EXPECT_EQ(m["dataset"]["mean"].get<std::vector<float>>(), held.info.mean);
  EXPECT_EQ(m["dataset"]["std"].get<std::vector<float>>(), held.info.std);
  EXPECT_TRUE(held.order.chunked);
  EXPECT_TRUE(training_order(DataOptions(big.string())).chunked);  // from the file's description
  EXPECT_FALSE(training_order(DataOptions((dir_ / "small.h5").string())).chunked);

  // Its cache: the training split read a chunk at a time, within the same bound, the same logits
  // as from the split held.
  const auto cache = [&](const std::string& out, const std::string& memory) {
    return stage("cache --teacher " + (dir_ / "a").string() + " --dataset " + big.string() +
                     " --views 2 --temperatures 1 4 --threads 2 --memory " + memory,
                 out);
  };
  // Each stage's floor: the same stage on the small file.
  const double cache_floor = stage("cache --teacher " + (dir_ / "small").string() + " --dataset " +
                                       (dir_ / "small.h5").string() +
                                       " --val-size 500 --views 2 --temperatures 1 4 --threads 2",
                                   "small-cache.h5");
  const double cached = cache("streamed.h5", "96");
  EXPECT_LE(cached, 1.1 * (cache_floor + 96));
  std::cout << "cache peak RSS " << cached << " MB (floor " << cache_floor << " MB)\n";
  cache("held.h5", "2000");
  EXPECT_TRUE(torch::equal(LogitCache(dir_ / "streamed.h5").logits(),
                           LogitCache(dir_ / "held.h5").logits()));
  // In the chunks the training order visits, so that a student reads each once an epoch.
  EXPECT_EQ(LogitCache(dir_ / "streamed.h5").header().chunk, 256);

  // A student from it, on a subset: streamed within the bound (the cache read in step with the
  // data), the same weights as held.
  const auto distill = [&](const std::string& out, const std::string& memory) {
    return stage("distill --cache " + (dir_ / "streamed.h5").string() + " --dataset " +
                     big.string() +
                     " --arch mlp:8 --temperature 4 --epochs 2 --train-subset 50000 --threads 2 "
                     "--memory " +
                     memory,
                 out);
  };
  const double distill_floor =
      stage("distill --cache " + (dir_ / "small-cache.h5").string() + " --dataset " +
                (dir_ / "small.h5").string() +
                " --val-size 500 --arch mlp:8 --temperature 4 --epochs 2 --train-subset 2000 "
                "--threads 2",
            "small-student");
  const double student = distill("student", "96");
  EXPECT_LE(student, 1.1 * (distill_floor + 96));
  std::cout << "distill peak RSS " << student << " MB (floor " << distill_floor << " MB)\n";
  distill("student-held", "2000");
  EXPECT_TRUE(metrics("student")["dataset"]["streamed"].get<bool>());
  EXPECT_NE(read_text(dir_ / "student" / "train.log").find("read from the file as it runs"),
            std::string::npos);
  EXPECT_FALSE(metrics("student-held")["dataset"]["streamed"].get<bool>());
  EXPECT_TRUE(read_text(dir_ / "student" / "model.pt") ==
              read_text(dir_ / "student-held" / "model.pt"));

  // Images converted on loading are held, converted (never streamed as stored).
  teach(big, "converted", "--memory 96 --image-size 40x40");
  EXPECT_FALSE(metrics("converted")["dataset"]["streamed"].get<bool>());
  EXPECT_EQ(metrics("converted")["dataset"]["shape"], nlohmann::json({3, 40, 40}));
  EXPECT_NE(read_text(dir_ / "converted" / "train.log")
                .find("more than --memory 96 MB (as given): images converted by --image-size or "
                      "--channels are held"),
            std::string::npos);

  // Too little memory for the validation and test splits and two windows: one line.
  const testing::ProcessResult r =
      testing::run_kdpipe("teach --dataset " + big.string() +
                          " --arch mlp:16 --epochs 1 --memory 20 --out " + (dir_ / "c").string());
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("--memory 20 MB (as given): streaming"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("give at least 58 MB"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace kd
